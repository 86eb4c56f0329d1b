FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
# Dependencies first, from the lock (every version and hash pinned; refreshed by
# scripts/lock), in a layer of their own that a change to the source does not rebuild.
COPY requirements/runtime.txt requirements/runtime.txt
RUN pip install --no-cache-dir --upgrade pip setuptools \
 && pip install --no-cache-dir --require-hashes -r requirements/runtime.txt
COPY pyproject.toml README.md alembic.ini ./
COPY src ./src
COPY migrations ./migrations
RUN pip install --no-cache-dir --no-deps .
# A named volume keeps generated demo data between runs.
VOLUME ["/data"]
CMD ["audit", "--help"]
