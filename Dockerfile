# lineage-graph server image. Neo4j runs beside it (see docker-compose.yml), reached through NEO4J_URI.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema ./schema
COPY src ./src
# The service user owns one directory, its home, which holds everything the server writes (the SigV4 master
# key file; the managed Neo4j's data if NEO4J_URI is ever left unset). Mount a volume there to keep it.
RUN pip install --no-cache-dir . \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/lineage-graph --create-home lineage
USER lineage
ENV HOME=/var/lib/lineage-graph \
    LINEAGE_GRAPH_DATA_DIR=/var/lib/lineage-graph/data \
    LINEAGE_GRAPH_CACHE_DIR=/var/lib/lineage-graph/cache \
    LINEAGE_GRAPH_HOST=0.0.0.0 \
    LINEAGE_GRAPH_PORT=8000 \
    LINEAGE_GRAPH_LOG_FORMAT=json
VOLUME /var/lib/lineage-graph
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["lineage-graph", "serve"]
