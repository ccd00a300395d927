"""The managed local Neo4j: fetch it from Maven Central, start it on loopback, stop it cleanly.

Neo4j publishes no server tarball on Maven Central, but it does publish the modules the community server is
assembled from (`org.neo4j.assembly:neo4j-community-standalone` lists them). Maven resolves those jars once
into a cache directory, and the server's own entry class (`org.neo4j.server.CommunityEntryPoint`) runs them
with a `neo4j.conf` written here. It is the real engine and Bolt server, the same code as `bin/neo4j`.

Every failure a user can meet (no Java, no Maven, download refused, port taken, server not answering) is a
`LocalNeo4jError` with a sentence that says what to do, never a stack trace.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

NEO4J_VERSION = "5.26.30"
ENTRY_CLASS = "org.neo4j.server.CommunityEntryPoint"
ADMIN_CLASS = "org.neo4j.cli.AdminTool"
MIN_JAVA = 17
USER = "neo4j"
DATABASE = "neo4j"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>lineage-graph.local</groupId>
  <artifactId>neo4j-community-server</artifactId>
  <version>{version}</version>
  <packaging>pom</packaging>
  <!-- The community server's modules, as neo4j-community-standalone assembles them. -->
  <dependencies>
    <dependency><groupId>org.neo4j.app</groupId><artifactId>neo4j-server</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j</artifactId>
      <version>{version}</version></dependency>
    <dependency><groupId>org.neo4j</groupId><artifactId>neo4j-bootcheck</artifactId>
      <version>{version}</version></dependency>
  </dependencies>
</project>
"""

# The JVM flags Neo4j's own launcher passes; without the opens, Netty and the page cache log warnings on 17+.
_JVM_FLAGS = (
    "-XX:+UseG1GC",
    "-XX:-OmitStackTraceInFastThrow",
    "-XX:+AlwaysPreTouch",
    "-XX:+UnlockExperimentalVMOptions",
    "-XX:+TrustFinalNonStaticFields",
    "-XX:+DisableExplicitGC",
    "-Djdk.nio.maxCachedBufferSize=1024",
    "-Dio.netty.tryReflectionSetAccessible=true",
    "-Dlog4j2.disable.jmx=true",
    "-Dfile.encoding=UTF-8",
    "--add-opens=java.base/java.nio=ALL-UNNAMED",
    "--add-opens=java.base/java.io=ALL-UNNAMED",
    "--add-opens=java.base/sun.nio.ch=ALL-UNNAMED",
)

MIN_REPLAN_INTERVAL = "5m"
_JIT_FLAGS: dict[str, tuple[str, ...]] = {"full": (), "quick": ("-XX:TieredStopAtLevel=1",)}


def jit_for_machine(setting: Literal["auto", "full", "quick"], cpus: int | None = None) -> Literal["full", "quick"]:
    """The JIT for the managed Neo4j. On two cores or fewer, "auto" is "quick": the optimizing compiler's
    threads took half of Neo4j's CPU for the first minutes after a start there (Neo4j's query engine is a large
    body of code to compile), competing with the queries themselves; the quick compiler alone halved Neo4j's
    CPU per registration. With more cores the compiler has cores of its own and the full JIT pays off."""
    if setting != "auto":
        return setting
    available = cpus if cpus is not None else len(os.sched_getaffinity(0))
    return "quick" if available <= 2 else "full"


# JVMs this process started, so they can be reaped when they exit (a detached Neo4j started by another
# process, e.g. `lineage-graph neo4j start`, is watched through its pid file instead).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class LocalNeo4jError(RuntimeError):
    """A problem starting or stopping the managed Neo4j, phrased for the person at the terminal."""


@dataclass(frozen=True)
class Connection:
    uri: str
    user: str
    password: str


@dataclass(frozen=True)
class LocalNeo4j:
    """One managed instance: its jars live in `cache_dir`, its data, logs and config in `home`."""

    home: Path
    cache_dir: Path
    bolt_port: int = 7687
    heap: str = "1g"
    pagecache: str = "512m"
    # The JVM's JIT: "full" (its default: a quick compiler, then an optimizing one for hot code) or "quick"
    # (the quick compiler only). See `jit_for_machine`.
    jit: Literal["full", "quick"] = "full"

    # ---- paths -------------------------------------------------------------------------------------
    @property
    def lib_dir(self) -> Path:
        return self.cache_dir / f"neo4j-community-{NEO4J_VERSION}" / "lib"

    @property
    def conf_dir(self) -> Path:
        return self.home / "conf"

    @property
    def pid_file(self) -> Path:
        return self.home / "run" / "neo4j.pid"

    @property
    def credentials_file(self) -> Path:
        return self.home / "credentials.json"

    @property
    def console_log(self) -> Path:
        return self.home / "logs" / "console.log"

    @property
    def uri(self) -> str:
        return f"bolt://127.0.0.1:{self.bolt_port}"

    # ---- install -----------------------------------------------------------------------------------
    def ensure_installed(self) -> None:
        """Resolve the server's jars from Maven Central into the cache, once."""
        marker = self.lib_dir / ".complete"
        if marker.exists():
            return
        mvn = shutil.which("mvn")
        if mvn is None:
            raise LocalNeo4jError(
                "Maven (mvn) is not on PATH; it is needed once to fetch Neo4j from Maven Central. "
                "Install it (e.g. `apt-get install maven`) or set NEO4J_URI to use an existing Neo4j."
            )
        self.lib_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="lineage-graph-neo4j-") as work:
            pom = Path(work) / "pom.xml"
            pom.write_text(_POM.format(version=NEO4J_VERSION))
            result = subprocess.run(
                [
                    mvn,
                    "-q",
                    "-B",
                    "-f",
                    str(pom),
                    "dependency:copy-dependencies",
                    f"-DoutputDirectory={self.lib_dir}",
                    "-DincludeScope=runtime",
                ],
                capture_output=True,
                text=True,
                check=False,
            )
        if result.returncode != 0 or not any(self.lib_dir.glob("neo4j-*.jar")):
            tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
            raise LocalNeo4jError(
                f"Could not download Neo4j {NEO4J_VERSION} from Maven Central (mvn exited "
                f"{result.returncode}). Check network access to Maven Central.\n{tail}"
            )
        marker.write_text(NEO4J_VERSION)

    # ---- lifecycle ---------------------------------------------------------------------------------
    def credentials(self) -> Connection:
        data = json.loads(self.credentials_file.read_text())
        return Connection(uri=self.uri, user=data["user"], password=data["password"])

    def running_pid(self) -> int | None:
        """The pid of this instance's JVM if it is alive, else None (a stale pid file is removed)."""
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if _alive(pid) and _is_neo4j(pid):
            return pid
        self.pid_file.unlink(missing_ok=True)
        return None

    def start(self, timeout: float = 180.0, progress: Callable[[str], None] | None = None) -> Connection:
        """Start the server (or find it already running) and return once Bolt answers a query.

        `progress` hears a line now and then while the JVM boots (a first start takes a minute or two), so a
        person watching knows it is not stuck."""
        if self.running_pid() is not None:
            conn = self.credentials()
            _wait_for_bolt(conn, timeout)
            return conn
        java = find_java()
        if not _port_free(self.bolt_port):
            raise LocalNeo4jError(
                f"Port {self.bolt_port} on 127.0.0.1 is already in use by another program. Stop it, or "
                "choose another port with LINEAGE_GRAPH_NEO4J_BOLT_PORT."
            )
        if progress is not None and not (self.lib_dir / ".complete").exists():
            progress(f"fetching Neo4j {NEO4J_VERSION} from Maven Central into {self.lib_dir} (once) …")
        self.ensure_installed()
        first_start = not self.credentials_file.exists()
        self._write_config()
        if first_start:
            if progress is not None:
                progress(f"first start: creating the database in {self.home} …")
            self._set_initial_password(java)
        conn = self.credentials()
        self.console_log.parent.mkdir(parents=True, exist_ok=True)
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        with self.console_log.open("ab") as log:
            proc = subprocess.Popen(
                [
                    java,
                    *self._heap_flags(),
                    *_JVM_FLAGS,
                    *_JIT_FLAGS[self.jit],
                    "-cp",
                    f"{self.lib_dir}/*",
                    ENTRY_CLASS,
                    f"--home-dir={self.home}",
                    f"--config-dir={self.conf_dir}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=self.home,
                env=self._env(),
                # Its own session, so a Ctrl-C meant for `serve` reaches Neo4j only through stop().
                start_new_session=True,
            )
        _CHILDREN[proc.pid] = proc
        self.pid_file.write_text(str(proc.pid))
        started = time.monotonic()
        deadline = started + timeout
        next_report = started + _PROGRESS_EVERY
        while time.monotonic() < deadline:
            if progress is not None and time.monotonic() >= next_report:
                progress(f"Neo4j is starting ({time.monotonic() - started:.0f} s; log in {self.console_log}) …")
                next_report += _PROGRESS_EVERY
            if proc.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise LocalNeo4jError(
                    f"Neo4j exited during start-up (code {proc.returncode}); see {self.console_log} "
                    f"and {self.home / 'logs' / 'neo4j.log'}:\n{_tail(self.console_log)}"
                )
            if _bolt_answers(conn):
                return conn
            time.sleep(0.5)
        self.stop()
        raise LocalNeo4jError(f"Neo4j did not answer on {self.uri} within {timeout:.0f}s; see {self.console_log}")

    def stop(self, timeout: float = 60.0) -> bool:
        """Stop the JVM: SIGTERM (Neo4j checkpoints and exits), SIGKILL only if it hangs. True if it ran."""
        pid = self.running_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.1)
        self.pid_file.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """SIGKILL without a checkpoint, as a crash would; the next start recovers from the transaction log."""
        pid = self.running_pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
            self.pid_file.unlink(missing_ok=True)

    def admin(self, args: Sequence[str]) -> subprocess.CompletedProcess[str]:
        """Run `neo4j-admin` (e.g. `database dump neo4j --to-path=…`) against this instance's files."""
        self.ensure_installed()
        self._write_config()
        return subprocess.run(
            [find_java(), "-cp", f"{self.lib_dir}/*", ADMIN_CLASS, *args],
            capture_output=True,
            text=True,
            check=False,
            env=self._env(),
            cwd=self.home,
        )

    # ---- backup ------------------------------------------------------------------------------------
    def dump(self, to_dir: Path, database: str = DATABASE) -> Path:
        """Write `database` to `to_dir/<database>-<UTC time>.dump` and return that file.

        Community edition dumps only a stopped database, so a running instance is stopped (cleanly, with a
        checkpoint) for the dump and started again afterwards; a server using it answers 503 meanwhile and
        recovers by itself. The dump holds the graph, its constraints and indexes, not the `system` database
        (users and password), which is why a dump loads into any instance whatever its password."""
        to_dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = to_dir / f"{database}-{stamp}.dump"
        # neo4j-admin names the file after the database: dump beside the target, then rename atomically so a
        # half-written dump never carries a backup's name.
        with self._stopped(), tempfile.TemporaryDirectory(dir=to_dir, prefix=".dumping-") as work:
            self._admin_or_raise("dump", ["database", "dump", database, f"--to-path={work}"])
            os.replace(Path(work) / f"{database}.dump", target)
        return target

    def load(self, dump_file: Path, database: str = DATABASE) -> None:
        """Replace `database` with the contents of `dump_file` (as written by `dump`); everything written
        since that dump is gone. The instance is stopped for the load and started again if it was running."""
        if not dump_file.is_file():
            raise LocalNeo4jError(f"{dump_file} is not a file; pass a dump written by `lineage-graph neo4j dump`.")
        with self._stopped(), tempfile.TemporaryDirectory(prefix="lineage-graph-load-") as work:
            # neo4j-admin reads `<database>.dump` from a directory: link the chosen file under that name.
            os.symlink(dump_file.resolve(), Path(work) / f"{database}.dump")
            self._admin_or_raise(
                "load", ["database", "load", database, f"--from-path={work}", "--overwrite-destination=true"]
            )

    @contextmanager
    def _stopped(self) -> Iterator[None]:
        was_running = self.running_pid() is not None
        if was_running:
            self.stop()
        try:
            yield
        finally:
            if was_running:
                self.start()

    def _admin_or_raise(self, what: str, args: Sequence[str]) -> None:
        result = self.admin(args)
        if result.returncode != 0:
            errors = [line for line in (result.stdout + result.stderr).splitlines() if "ERROR" in line]
            detail = "\n".join(errors[-3:]) or _last_lines(result.stderr or result.stdout, 5)
            raise LocalNeo4jError(f"neo4j-admin {what} failed (exit {result.returncode}):\n{detail}")

    # ---- helpers -----------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        return {**os.environ, "NEO4J_HOME": str(self.home), "NEO4J_CONF": str(self.conf_dir)}

    def _heap_flags(self) -> list[str]:
        return [f"-Xms{self.heap}", f"-Xmx{self.heap}"]

    def _write_config(self) -> None:
        for sub in ("conf", "data", "logs", "run", "plugins", "import", "dumps"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        settings = {
            "server.default_listen_address": "127.0.0.1",
            "server.bolt.listen_address": f"127.0.0.1:{self.bolt_port}",
            "server.bolt.advertised_address": f"127.0.0.1:{self.bolt_port}",
            # Only Bolt: the HTTP API would be a second door nobody here uses.
            "server.http.enabled": "false",
            "server.https.enabled": "false",
            "server.directories.data": self.home / "data",
            "server.directories.logs": self.home / "logs",
            "server.directories.run": self.home / "run",
            "server.directories.plugins": self.home / "plugins",
            "server.directories.import": self.home / "import",
            "server.directories.dumps.root": self.home / "dumps",
            "server.memory.heap.initial_size": self.heap,
            "server.memory.heap.max_size": self.heap,
            "server.memory.pagecache.size": self.pagecache,
            "dbms.security.auth_enabled": "true",
            "dbms.usage_report.enabled": "false",
            # Bounded work: no single transaction may run longer than this (queries set tighter budgets).
            "db.transaction.timeout": "60s",
            # A cached plan is re-planned once the statistics it was planned on have diverged and it is older
            # than this (Neo4j's default: 10 s). A young database's counts grow by multiples every few seconds,
            # so at 10 s every hot statement was re-planned again and again, each plan costing Neo4j hundreds
            # of ms of CPU and holding its request up (docs/operations.md, "The managed Neo4j's planner").
            "dbms.cypher.min_replan_interval": MIN_REPLAN_INTERVAL,
        }
        text = "".join(f"{key}={value}\n" for key, value in settings.items())
        (self.conf_dir / "neo4j.conf").write_text(text)

    def _set_initial_password(self, java: str) -> None:
        password = secrets.token_hex(16)  # hex: never starts with "-", which the CLI would read as a flag
        result = subprocess.run(
            [java, "-cp", f"{self.lib_dir}/*", ADMIN_CLASS, "dbms", "set-initial-password", password],
            capture_output=True,
            text=True,
            check=False,
            env=self._env(),
            cwd=self.home,
        )
        if result.returncode != 0:
            raise LocalNeo4jError(f"Could not set the Neo4j password: {result.stderr.strip()[-500:]}")
        self.credentials_file.write_text(json.dumps({"user": USER, "password": password}))
        self.credentials_file.chmod(0o600)


def find_java() -> str:
    """JAVA_HOME's java, else the one on PATH; it must be 17 or newer (Neo4j 5.26 runs on 17 and 21)."""
    java_home = os.environ.get("JAVA_HOME")
    candidate = Path(java_home) / "bin" / "java" if java_home else None
    java = str(candidate) if candidate and candidate.exists() else shutil.which("java")
    if java is None:
        raise LocalNeo4jError(
            "Java was not found (no JAVA_HOME, no java on PATH). Neo4j needs Java 17 or 21: install "
            "one (e.g. `apt-get install openjdk-17-jre-headless`) or set NEO4J_URI to use an existing Neo4j."
        )
    result = subprocess.run([java, "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)', result.stderr)
    if match is None or int(match.group(1)) < MIN_JAVA:
        raise LocalNeo4jError(f"{java} is not Java {MIN_JAVA} or newer: {result.stderr.strip()[:200]}")
    return java


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del _CHILDREN[pid]
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); reap it if it is ours.
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return _not_zombie(pid)
    return done == 0


def _not_zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _is_neo4j(pid: int) -> bool:
    try:
        return ENTRY_CLASS.encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust the pid file


def _listening(uri: str) -> bool:
    host, _, port = uri.rpartition("//")[2].partition(":")
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, int(port))) == 0


def _bolt_answers(conn: Connection) -> bool:
    from neo4j import GraphDatabase

    # A plain TCP probe first: the driver leaks a socket on every refused connection while the JVM boots.
    if not _listening(conn.uri):
        return False
    from neo4j.exceptions import Neo4jError, ServiceUnavailable, SessionExpired

    try:
        with (
            GraphDatabase.driver(conn.uri, auth=(conn.user, conn.password), connection_timeout=2) as driver,
            driver.session() as session,
        ):
            # A plain auto-commit run: execute_query would retry (and log) while the server boots.
            session.run("RETURN 1").consume()
    except (ServiceUnavailable, SessionExpired, OSError):
        return False
    except Neo4jError as exc:
        if "DatabaseUnavailable" in (exc.code or ""):
            return False
        raise LocalNeo4jError(f"Neo4j answered with an error: {exc.message}") from None
    return True


_PROGRESS_EVERY = 10.0  # seconds between "still starting" lines


def _wait_for_bolt(conn: Connection, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not _bolt_answers(conn):
        if time.monotonic() > deadline:
            raise LocalNeo4jError(f"Neo4j is running but does not answer on {conn.uri}")
        time.sleep(0.5)


def _last_lines(text: str, lines: int) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
