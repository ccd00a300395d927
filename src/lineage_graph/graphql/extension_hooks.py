"""Schema extension hooks, analysed once per extension class instead of once per request.

Strawberry enters every extension's `on_operation`, `on_parse`, `on_validate` and `on_execute` around each
operation. For each hook of each extension it inspects the method afresh (generator? async generator? plain
callable?) and wraps it with `contextlib.contextmanager`, which copies the function's metadata with
`functools.wraps`: with nine extensions that is thirty-six inspections and wrappers per request, about a sixth
of a `{__typename}` request's CPU. What a class's hook is does not change while the process runs, so the runner
here makes each context-manager factory once per (class, hook) and only binds it to the request's extension
object. The hooks run exactly as Strawberry runs them: the same order, the same enter and exit semantics.
"""

from __future__ import annotations

import contextlib
import inspect
from asyncio import iscoroutinefunction
from collections.abc import AsyncIterator, Callable, Iterator
from functools import partial
from typing import Any

from strawberry.extensions import SchemaExtension
from strawberry.extensions.context import (
    ExecutingContextManager,
    ExtensionContextManagerBase,
    OperationContextManager,
    ParsingContextManager,
    ValidationContextManager,
    WrappedHook,
)
from strawberry.extensions.runner import SchemaExtensionsRunner

# A hook as a context-manager factory taking the extension object, and whether it is entered with `async with`.
HookFactory = tuple[Callable[[SchemaExtension], Any], bool]


_FACTORIES: dict[tuple[type[SchemaExtension], str], HookFactory | None] = {}


def hook_factory(extension_class: type[SchemaExtension], hook_name: str) -> HookFactory | None:
    """How `extension_class` takes part in the `hook_name` stage (None: it does not), as Strawberry's
    `ExtensionContextManagerBase.get_hook` decides it, made once for the process."""
    key = (extension_class, hook_name)
    if key not in _FACTORIES:
        _FACTORIES[key] = _factory(extension_class, hook_name)
    return _FACTORIES[key]


def _factory(extension_class: type[SchemaExtension], hook_name: str) -> HookFactory | None:
    hook = getattr(extension_class, hook_name)
    if hook is getattr(SchemaExtension, hook_name):
        return None
    if inspect.isgeneratorfunction(hook):
        return contextlib.contextmanager(hook), False
    if inspect.isasyncgenfunction(hook):
        return contextlib.asynccontextmanager(hook), True
    if not callable(hook):
        raise ValueError(f"Hook {hook_name} on {extension_class} must be callable, received {hook!r}")
    if iscoroutinefunction(hook):

        @contextlib.asynccontextmanager
        async def awaited(extension: SchemaExtension) -> AsyncIterator[None]:
            await hook(extension)
            yield

        return awaited, True

    @contextlib.contextmanager
    def called(extension: SchemaExtension) -> Iterator[None]:
        hook(extension)
        yield

    return called, False


class _PlannedHooks(ExtensionContextManagerBase):
    def get_hook(self, extension: SchemaExtension) -> WrappedHook | None:
        planned = hook_factory(type(extension), self.HOOK_NAME)
        if planned is None:
            return None
        factory, is_async = planned
        return WrappedHook(extension=extension, hook=partial(factory, extension), is_async=is_async)


class _Operation(_PlannedHooks, OperationContextManager):
    pass


class _Parsing(_PlannedHooks, ParsingContextManager):
    pass


class _Validation(_PlannedHooks, ValidationContextManager):
    pass


class _Executing(_PlannedHooks, ExecutingContextManager):
    pass


class PlannedExtensionsRunner(SchemaExtensionsRunner):
    """Strawberry's runner, whose stages take their hooks from `hook_factory`."""

    def operation(self) -> OperationContextManager:
        return _Operation(self.extensions)

    def parsing(self) -> ParsingContextManager:
        return _Parsing(self.extensions)

    def validation(self) -> ValidationContextManager:
        return _Validation(self.extensions)

    def executing(self) -> ExecutingContextManager:
        return _Executing(self.extensions)
