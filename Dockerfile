# The task API for docker-compose: the runtime requirements plus boto3 (which Lambda provides on AWS).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY requirements.txt ./
RUN pip install --no-cache-dir -r requirements.txt boto3==1.44.5
COPY manage.py zappa_settings.json ./
COPY taskapi ./taskapi
COPY tasks ./tasks
COPY ops ./ops
EXPOSE 8000
CMD ["python", "manage.py", "runserver", "0.0.0.0:8000", "--noreload"]
