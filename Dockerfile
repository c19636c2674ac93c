FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY requirements.lock ./
RUN pip install --no-cache-dir -r requirements.lock
COPY . .
COPY --from=assets /app/node_modules ./node_modules
RUN DJANGO_SETTINGS_MODULE=config.settings.dev python manage.py compilemessages --ignore=node_modules \
 && SECRET_KEY=build ALLOWED_HOSTS=x DJANGO_SETTINGS_MODULE=config.settings.prod python manage.py collectstatic --noinput
USER nobody
