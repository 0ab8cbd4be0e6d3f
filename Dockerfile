# Weft's image for compose.yaml: web, workers and the scheduler share it.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/ ./
RUN if [ -f package.json ]; then npm ci --no-audit --no-fund && npm run build; else mkdir -p ../static/dist; fi

FROM python:3.11-slim-bookworm
ENV PYTHONUNBUFFERED=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/opt/venv PATH=/opt/venv/bin:$PATH
RUN pip install --no-cache-dir uv
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY . .
COPY --from=frontend /src/static/dist ./static/dist
RUN WEFT_SECRET_KEY=build DATABASE_URL=postgresql://x@localhost/x REDIS_URL=redis://localhost \
    python manage.py collectstatic --no-input -v 0
EXPOSE 8000
CMD ["uvicorn", "config.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
