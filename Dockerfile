# relitigate's worker image: the flows, tasks and engine with their hash-locked dependencies.
# The work-pool templates (deployments/work-pools/*.json) name the images built from here:
#
#   docker build -t relitigate-worker:latest .                 # Docker / Kubernetes workers
#   docker build --target gpu -t relitigate-gpu:latest .       # + torch, transformers, peft
#
# vLLM is not in the locks: build FROM relitigate-gpu and install the vLLM release that
# matches your CUDA driver (it brings its own CUDA build of torch).
#
# Nothing secret is baked in: RELITIGATE_DATABASE_URL, provider keys and the Slack token come
# from the job's environment (the `relitigate-env` Kubernetes Secret, or the pool's `env`).
# The deployments' pull step (relitigate.prefect_env.enter_project) finds the flows here,
# under RELITIGATE_HOME, so a bare worker sets nothing.

FROM python:3.11-slim AS worker
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    RELITIGATE_HOME=/opt/relitigate \
    RELITIGATE_DATA_DIR=/var/lib/relitigate \
    LITELLM_LOCAL_MODEL_COST_MAP=True \
    LITELLM_OFFLINE_MODE=true \
    PREFECT_SERVER_ANALYTICS_ENABLED=false
WORKDIR /opt/relitigate
# Dependencies first (their layer stays cached while only the code changes), every one
# checked against its hash.
COPY requirements.lock requirements-build.txt ./
RUN pip install --require-hashes -r requirements.lock \
 && pip install --require-hashes --no-deps -r requirements-build.txt
COPY pyproject.toml README.md alembic.ini ./
COPY vocabulary ./vocabulary
COPY registry ./registry
COPY tasks ./tasks
COPY flows ./flows
COPY relitigate ./relitigate
COPY deployments ./deployments
# No dependency resolution here: everything came from the lock above.
RUN pip install --no-deps --no-build-isolation -e . \
 && useradd --create-home --uid 10001 relitigate \
 && mkdir -p /var/lib/relitigate && chown relitigate /var/lib/relitigate
USER relitigate
CMD ["prefect", "worker", "start", "--pool", "relitigate-local"]

FROM worker AS gpu
USER root
# requirements-gpu.txt pins torch's CPU build (its wheel comes from PyTorch's index); the in-
# process transformers runner works with it, and vLLM installed on top brings its CUDA build.
ARG TORCH_INDEX=https://download.pytorch.org/whl/cpu
COPY requirements-gpu.txt ./
RUN pip install --require-hashes --no-deps --extra-index-url "$TORCH_INDEX" -r requirements-gpu.txt
USER relitigate
