# lineage-graph server image. Neo4j runs beside it (see docker-compose.yml), reached through NEO4J_URI.
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY schema ./schema
COPY src ./src
RUN pip install --no-cache-dir . && useradd --system --uid 10001 lineage
USER lineage
ENV LINEAGE_GRAPH_HOST=0.0.0.0 \
    LINEAGE_GRAPH_PORT=8000
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=5 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["lineage-graph", "serve"]
