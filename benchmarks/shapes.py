"""Synthetic compose projects of several shapes, for the scale benchmark and the suite's guard.

Each shape is a function ``(services) -> Project``: the compose text plus the files it refers to
(nginx configurations, a build context), to be written into an empty folder. A shape repeats a
block of a few services; ``services`` must be a multiple of the block size (every size the
benchmark uses, 500 to 8,000, is). Standard library only.

Shapes:

  four-tier    flat stacks on the default network: nginx publishing a port with depends_on, an API
               naming postgres and redis in URLs, postgres, redis -- repeated
  anchors      the same tiers written with anchors and merge keys: every service merges a shared
               ``x-common``, the APIs merge ``x-app`` (which merges ``x-common``), the stores merge
               ``x-pg`` / ``x-redis``, and a worker merges its API's whole service (``<<: *apiK``)
  flat-net     the four tiers all on ONE declared network (``networks: [appnet]``)
  segmented    already segmented: shared ``front`` and ``back`` declared networks (``back``
               internal), the API on both, the stores on ``back``
  extends      extends chains: ``appK-c`` extends ``appK-b`` extends ``appK-a`` extends one common
               service, with an nginx in front and a postgres behind
  build        many services built from one build context (``build: .`` with a source tree that
               names the stores)
  edge-data    half edge services (nginx publishing a port, no configuration in the project), half
               data stores (postgres, redis), nothing else: 2,500 + 2,500 at 5,000 services
  long-chain   one extends chain through the whole file: each application extends the one before
               it (8,000 services: a chain 6,000 deep), with a postgres per block that some name
  shared-nets  many declared networks (one per 50 services), every service on two of them, APIs
               with network aliases: nginx, an API, postgres, redis per block
  anchor-nets  the networks come from an anchor every service merges (``<<: *base`` holding
               ``networks: [appnet]``): APIs, MySQL stores, workers and redis
  merge-lists  per-block anchors merged as lists (``<<: [*envK, *teamK]``) by an nginx with no
               configuration, an API, postgres and redis: every proxy names its block's cache, so
               no two proxies are in the same network situation
  dense-deps   every service depends on the four before it (nginx with no configuration, an API,
               postgres, redis in turn): a thousand edges beside two thousand data stores
  workers      per block a database, an API naming it, and two workers of one image that all name
               the first API and depend on the first database (one kin group of N/2 members)
  sidecars     APIs publishing a port with a sidecar of an unknown image in their network
               namespace, a database each, and a host-network exporter each
  mounted      per block an nginx reading its own mounted configuration (proxy_pass to its API),
               an API reading a mounted settings file and an env_file naming its stores, postgres,
               redis
  build-mount  APIs built from one context (a source tree) that they also mount (``.:/app``), with
               an nginx, a postgres-exporter naming the block's database, postgres and redis
  links        an nginx linked to its API, the API linked to postgres and redis under aliases
               (``db0:database``) that its environment names
  big-env      APIs (mapping form, thirty variables) and workers (list form, twenty-seven) with long
               environments, some naming the block's stores, some external hosts
  mixed        the earlier benchmark's blocks of 10 (edge, five apps in several styles, postgres,
               redis, adminer, a worker on the bridge network; a third of the blocks with their own
               declared network pair)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Project:
    compose: str  # compose.yaml
    files: dict[str, str] = field(default_factory=dict)  # relative path -> content

    def write(self, directory: str, name: str = "compose.yaml") -> str:
        for rel, text in self.files.items():
            path = os.path.join(directory, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            if not os.path.exists(path):
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(text)
        path = os.path.join(directory, name)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.compose)
        return path


def _blocks(services: int, size: int) -> int:
    if services % size:
        raise ValueError(f"{services} is not a multiple of the block size {size}")
    return services // size


def _header(shape: str, services: int, about: str) -> str:
    return (f"# Synthetic compose file for compose-harden's scale benchmark (benchmarks/shapes.py).\n"
            f"# Shape {shape}: {about}; {services} services.\n"
            f"name: bench-{shape}-{services}\n\n")


# --- four-tier --------------------------------------------------------------------------------

def four_tier(services: int) -> Project:
    out = [_header("four-tier", services, "nginx, API, postgres, redis on the default network"), "services:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"   # public entry point\n'
            f"    depends_on:\n"
            f"      - api{k}\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:2.{k}\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://app:secret@db{k}:5432/app\n"
            f"      REDIS_URL: redis://cache{k}:6379/0\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"    volumes:\n"
            f"      - db{k}:/var/lib/postgresql/data\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
        )
    out.append("\nvolumes:\n")
    out.extend(f"  db{k}:\n" for k in range(services // 4))
    return Project("".join(out))


# --- anchors ----------------------------------------------------------------------------------

# the anchors the anchors and mixed shapes share: a logging/restart block and an environment
COMMON_ANCHORS = """\
x-common: &common
  restart: unless-stopped
  logging:
    driver: json-file
    options:
      max-size: "10m"   # keep the disks alive
      max-file: "3"

x-app-env: &app-env
  LOG_LEVEL: info
  TZ: UTC

"""

ANCHORS = COMMON_ANCHORS + """\
x-app: &app
  <<: *common
  image: ghcr.io/acme/api:3
  environment: *app-env

x-pg: &pg
  <<: *common
  image: postgres:16-alpine
  healthcheck:
    test: ["CMD-SHELL", "pg_isready -U app"]
    interval: 10s

x-redis: &redis
  <<: *common
  image: redis:7-alpine

"""


def anchors(services: int) -> Project:
    out = [_header("anchors", services, "anchors and merge keys shared by every service"), ANCHORS, "services:\n"]
    for k in range(_blocks(services, 5)):
        out.append(
            f"  web{k}:\n"
            f"    <<: *common\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    depends_on: [api{k}]\n"
            f"  api{k}: &api{k}\n"
            f"    <<: *app\n"
            f"    environment:\n"
            f"      <<: *app-env\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      REDIS_URL: redis://cache{k}:6379\n"
            f"  worker{k}:\n"
            f"    <<: *api{k}\n"
            f'    command: ["worker"]\n'
            f"  db{k}:\n"
            f"    <<: *pg\n"
            f"  cache{k}:\n"
            f"    <<: [*redis]\n"
        )
    return Project("".join(out))


# --- flat-net ---------------------------------------------------------------------------------

def flat_net(services: int) -> Project:
    out = [_header("flat-net", services, "the four tiers on one declared network"), "services:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    depends_on:\n"
            f"      - api{k}\n"
            f"    networks:\n"
            f"      - appnet\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:2.{k}\n"
            f"    environment:\n"
            f"      - DATABASE_URL=postgres://db{k}:5432/app\n"
            f"      - REDIS_URL=redis://cache{k}:6379\n"
            f"    networks:\n"
            f"      - appnet\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"    networks:\n"
            f"      - appnet\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
            f"    networks: [appnet]\n"
        )
    out.append("\nnetworks:\n  appnet:\n    driver: bridge\n")
    return Project("".join(out))


# --- segmented --------------------------------------------------------------------------------

def segmented(services: int) -> Project:
    out = [_header("segmented", services, "already on shared front and back networks"), "services:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    depends_on:\n"
            f"      - api{k}\n"
            f"    networks:\n"
            f"      - front\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:2.{k}\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      REDIS_URL: redis://cache{k}:6379\n"
            f"    networks:\n"
            f"      front:\n"
            f"      back:\n"
            f"        aliases: [api{k}.internal]\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"    networks:\n"
            f"      - back\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
            f"    networks:\n"
            f"      - back\n"
        )
    out.append("\nnetworks:\n  front:\n  back:\n    internal: true\n")
    return Project("".join(out))


# --- extends ----------------------------------------------------------------------------------

def extends(services: int) -> Project:
    out = [_header("extends", services, "extends chains three deep from one common service"), "services:\n"]
    for k in range(_blocks(services, 5)):
        if k == 0:  # the common service every chain starts from
            first = "    image: ghcr.io/acme/api:4\n    environment:\n      LOG_LEVEL: info\n"
        else:
            first = "    extends: app0-a\n    environment:\n"
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    depends_on: [app{k}-c]\n"
            f"  app{k}-a:\n"
            + first +
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"  app{k}-b:\n"
            f"    extends:\n"
            f"      service: app{k}-a\n"
            f'    command: ["worker"]\n'
            f"  app{k}-c:\n"
            f"    extends: app{k}-b\n"
            f"    environment:\n"
            f"      ROLE: web\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
        )
    return Project("".join(out))


# --- build ------------------------------------------------------------------------------------

BUILD_FILES = {
    "Dockerfile": "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nCMD [\"python\", \"-m\", \"app\"]\n",
    "app/__init__.py": "",
    "app/__main__.py": "from app.settings import DATABASE_URL\nprint(DATABASE_URL)\n",
    "app/settings.py": ("import os\n\nDATABASE_URL = os.environ.get('DATABASE_URL', 'postgres://db0:5432/app')\n"
                        "CACHE = os.environ.get('CACHE_URL', 'redis://cache0:6379')\n"),
    "requirements.txt": "psycopg[binary]\nredis\n",
    "README.md": "The application. Talks to db0 and cache0.\n",
}
for _i in range(24):
    BUILD_FILES[f"app/module{_i}.py"] = f"def handler{_i}(request):\n    return {{'ok': {_i}}}\n"


def build(services: int) -> Project:
    out = [_header("build", services, "APIs and workers built from one build context"), "services:\n"]
    for k in range(_blocks(services, 5)):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    depends_on:\n"
            f"      - api{k}\n"
            f"  api{k}:\n"
            f"    build: .\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      CACHE_URL: redis://cache{k}:6379\n"
            f"  worker{k}:\n"
            f"    build:\n"
            f"      context: .\n"
            f"      dockerfile: Dockerfile\n"
            f'    command: ["python", "-m", "app.worker"]\n'
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
        )
    return Project("".join(out), dict(BUILD_FILES))


# --- edge-data --------------------------------------------------------------------------------

def edge_data(services: int) -> Project:
    out = [_header("edge-data", services, "half edge services, half data stores"), "services:\n"]
    for k in range(_blocks(services, 2)):
        store = ("  data{k}:\n    image: postgres:16-alpine\n" if k % 2 == 0 else
                 "  data{k}:\n    image: redis:7-alpine\n").format(k=k)
        out.append(
            f"  edge{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            + store
        )
    return Project("".join(out))


# --- mixed (the earlier benchmark's file) -------------------------------------------------------

MIXED_HEADER = COMMON_ANCHORS + """\
x-healthcheck: &pg-health
  test: ["CMD-SHELL", "pg_isready -U app"]
  interval: 10s
  timeout: 5s
  retries: 5

services:
"""


def _mixed_block(k: int) -> str:
    db, cache = f"db{k}", f"cache{k}"
    nets = k % 3 == 1
    apps = [f"app{k}-{j}" for j in range(5)]

    def networks(*names: str) -> str:
        if not nets:
            return ""
        return "    networks:\n" + "".join(f"      - b{k}-{n}\n" for n in names)

    return "".join([
        f"  # ---- block {k}{' (own networks)' if nets else ''} ----\n",
        f"  edge{k}:\n    <<: *common\n    image: nginx:1.27-alpine\n    ports:\n"
        f'      - "{20000 + k}:80"   # public entry point\n'
        f"    volumes:\n      - ./nginx/block{k}.conf:/etc/nginx/conf.d/default.conf:ro\n"
        f"    depends_on:\n" + "".join(f"      - {a}\n" for a in apps[:3]) + networks("front"),
        f"  {apps[0]}:\n    <<: *common\n    build: ./app\n    environment:\n      <<: *app-env\n"
        f"      DATABASE_URL: postgres://{db}:5432/x\n      CACHE_URL: redis://{cache}:6379\n"
        f"    depends_on:\n      - {db}\n      - {cache}\n" + networks("front", "back"),
        f"  {apps[1]}:\n    <<: *common\n    image: registry.example.com/shop/api:2.{k}\n    environment:\n"
        f"      - DATABASE_URL=postgres://{db}:5432/x\n      - CACHE_URL=redis://{cache}:6379\n"
        f"      - UPSTREAM=http://{apps[0]}:8080\n    depends_on:\n      - {db}\n      - {apps[0]}\n"
        + networks("front", "back"),
        f"  {apps[2]}:\n    <<: *common\n    build:\n      context: ./app\n      dockerfile: Dockerfile\n"
        f'      args:\n        BLOCK: "{k}"\n    image: acme/storefront:{k}\n    environment:\n      <<: *app-env\n'
        f'      CACHE_URL: redis://{cache}:6379   # sessions\n    expose:\n      - "3000"\n'
        f"    depends_on:\n      - {cache}\n" + networks("front", "back"),
        f"  {apps[3]}:\n    <<: *common\n    image: ghcr.io/acme/orders:latest\n    environment:\n"
        f"      DATABASE_URL: postgres://{db}:5432/x\n    depends_on:\n      {db}:\n"
        f"        condition: service_healthy\n" + networks("back"),
        f"  {apps[4]}:\n    <<: *common\n    image: acme/billing:1.4.{k}\n"
        f'    command: ["billing", "--listen", ":9000"]\n    environment:\n'
        f"      DATABASE_URL: postgres://{db}:5432/x\n      CACHE_URL: redis://{cache}:6379\n"
        f"    depends_on:\n      {db}:\n        condition: service_healthy\n      {cache}:\n"
        f"        condition: service_started\n" + networks("back"),
        f"  {db}:\n    <<: *common\n    image: postgres:16-alpine\n    environment:\n      POSTGRES_USER: app\n"
        f"      POSTGRES_PASSWORD: example   # not a real secret\n      POSTGRES_DB: x\n    volumes:\n"
        f"      - {db}-data:/var/lib/postgresql/data\n    healthcheck: *pg-health\n" + networks("back"),
        f'  {cache}:\n    <<: *common\n    image: redis:7-alpine\n    command: redis-server --save "" --appendonly no\n'
        + networks("back"),
        f'  adminer{k}:\n    <<: *common\n    image: adminer:4\n    ports:\n      - "{40000 + k}:8080"\n'
        f"    environment:\n      ADMINER_DEFAULT_SERVER: {db}\n    depends_on:\n      - {db}\n"
        + networks("front", "back"),
        f"  # the worker only talks to the outside world\n  worker{k}:\n    <<: *common\n    image: acme/mailer:3\n"
        f"    network_mode: bridge\n    environment:\n      SMTP_HOST: smtp.example.com\n",
    ])


def mixed(services: int) -> Project:
    blocks = _blocks(services, 10)
    parts = [_header("mixed", services, "blocks of 10 in many styles"), MIXED_HEADER]
    parts.extend(_mixed_block(k) for k in range(blocks))
    parts.append("\nvolumes:\n")
    parts.extend(f"  db{k}-data:\n" for k in range(blocks))
    declared = [k for k in range(blocks) if k % 3 == 1]
    if declared:
        parts.append("\nnetworks:\n")
        parts.extend(f"  b{k}-front:\n  b{k}-back:\n" for k in declared)
    files = {
        "app/Dockerfile": "FROM python:3.12-slim\nCOPY . /app\nCMD [\"python\", \"/app/main.py\"]\n",
        "app/main.py": "import os\n\nDATABASE_URL = os.environ.get('DATABASE_URL')\nCACHE_URL = os.environ.get('CACHE_URL')\n",
    }
    for k in range(blocks):
        files[f"nginx/block{k}.conf"] = (f"server {{\n  listen 80;\n  location / {{ proxy_pass http://app{k}-0:8080; }}\n"
                                         f"  location /api/ {{ proxy_pass http://app{k}-1:8080; }}\n}}\n")
    return Project("".join(parts), files)


# --- long-chain -------------------------------------------------------------------------------

def long_chain(services: int) -> Project:
    out = [_header("long-chain", services, "one extends chain through the whole file"), "services:\n",
           "  base:\n    image: ghcr.io/acme/api:5\n    environment:\n      LOG_LEVEL: info\n"]
    prev = "base"
    for k in range(_blocks(services, 4)):
        for j in range(3):
            name = f"app{k}-{j}"
            if k == 0 and j == 0:
                continue  # base is the first of the chain
            env = f"      DATABASE_URL: postgres://db{k}:5432/app\n" if j == 1 else f"      INSTANCE: \"{k}-{j}\"\n"
            out.append(f"  {name}:\n    extends:\n      service: {prev}\n    environment:\n{env}")
            prev = name
        out.append(f"  db{k}:\n    image: postgres:16-alpine\n")
    return Project("".join(out))


# --- shared-nets ------------------------------------------------------------------------------

def shared_nets(services: int) -> Project:
    blocks = _blocks(services, 4)
    nets = max(2, services // 50)
    out = [_header("shared-nets", services, f"{nets} declared networks, every service on two"), "services:\n"]
    for k in range(blocks):
        a, b = f"net{k % nets}", f"net{(k + 1) % nets}"
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    networks: [{a}, {b}]\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:6\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      REDIS_URL: redis://cache{k}:6379\n"
            f"    networks:\n"
            f"      {a}:\n"
            f"        aliases: [api{k}.internal]\n"
            f"      {b}:\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"    networks: [{a}, {b}]\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
            f"    networks: [{a}]\n"
        )
    out.append("\nnetworks:\n")
    out.extend(f"  net{j}:\n" + ("    driver: bridge\n" if j % 3 == 0 else "") for j in range(nets))
    return Project("".join(out))


# --- anchor-nets ------------------------------------------------------------------------------

def anchor_nets(services: int) -> Project:
    out = [_header("anchor-nets", services, "networks from an anchor every service merges"),
           "x-base: &base\n  restart: always\n  networks:\n    - appnet\n\nservices:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  api{k}:\n"
            f"    <<: *base\n"
            f"    image: ghcr.io/acme/api:7\n"
            f"    environment:\n"
            f"      - DB_HOST=db{k}\n"
            f"  db{k}:\n"
            f"    <<: *base\n"
            f"    image: mysql:8\n"
            f"  worker{k}:\n"
            f"    <<: *base\n"
            f"    image: ghcr.io/acme/worker:7\n"
            f"    depends_on:\n"
            f"      - db{k}\n"
            f"  cache{k}:\n"
            f"    <<: *base\n"
            f"    image: redis:7-alpine\n"
        )
    out.append("\nnetworks:\n  appnet: {}\n")
    return Project("".join(out))


# --- merge-lists ------------------------------------------------------------------------------

def merge_lists(services: int) -> Project:
    blocks = _blocks(services, 4)
    out = [_header("merge-lists", services, "anchors of each block merged as lists (<<: [*a, *b])")]
    for k in range(blocks):
        out.append(
            f"x-env{k}: &env{k}\n"
            f"  restart: always\n"
            f"  environment:\n"
            f"    REDIS_URL: redis://cache{k}:6379\n"
            f"x-team{k}: &team{k}\n"
            f"  labels:\n"
            f"    team: t{k}\n"
        )
    out.append("\nservices:\n")
    for k in range(blocks):
        out.append(
            f"  web{k}:\n"
            f"    <<: [*env{k}, *team{k}]\n"  # a proxy with no configuration that names its cache
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"  app{k}:\n"
            f"    <<: [*env{k}, *team{k}]\n"
            f"    image: ghcr.io/acme/api:8\n"
            f"    depends_on:\n"
            f"      db{k}:\n"
            f"        condition: service_healthy\n"
            f"  db{k}:\n"
            f"    <<: *team{k}\n"
            f"    image: postgres:16-alpine\n"
            f"  cache{k}:\n"
            f"    <<: *team{k}\n"
            f"    image: redis:7-alpine\n"
        )
    return Project("".join(out))


# --- dense-deps -------------------------------------------------------------------------------

def dense_deps(services: int) -> Project:
    out = [_header("dense-deps", services, "every service depends on the four before it"), "services:\n"]
    images = ["nginx:1.27-alpine", "ghcr.io/acme/api:9", "postgres:16-alpine", "redis:7-alpine"]
    for i in range(_blocks(services, 4) * 4):
        deps = "".join(f"      - s{j}\n" for j in range(max(0, i - 4), i))
        out.append(f"  s{i}:\n    image: {images[i % 4]}\n" + (f"    depends_on:\n{deps}" if deps else ""))
    return Project("".join(out))


# --- workers ----------------------------------------------------------------------------------

def workers(services: int) -> Project:
    out = [_header("workers", services, "workers of one image sharing one URL, beside an API and a database"),
           "services:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:10\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
        )
        for j in range(2):
            out.append(
                f"  worker{k}-{j}:\n"
                f"    image: ghcr.io/acme/worker:10\n"
                f"    depends_on: [db0]\n"
                f"    environment:\n"
                f"      API_URL: http://api0:8080\n"  # one URL every worker shares
            )
    return Project("".join(out))


# --- sidecars ---------------------------------------------------------------------------------

def sidecars(services: int) -> Project:
    out = [_header("sidecars", services, "APIs with a sidecar of an unknown image in their network namespace"),
           "services:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:11\n"
            f"    ports:\n"
            f'      - "{10000 + k}:8080"\n'
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"  side{k}:\n"
            f"    image: ghcr.io/acme/sidecar:11\n"
            f"    network_mode: service:api{k}\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  exporter{k}:\n"
            f"    image: prom/node-exporter:v1.8.2\n"
            f"    network_mode: host\n"
        )
    return Project("".join(out))


# --- wide-nets --------------------------------------------------------------------------------

def wide_nets(services: int) -> Project:
    nets = max(6, services // 100)
    out = [_header("wide-nets", services, f"{nets} declared networks, every service on five in a row"), "services:\n"]
    images = ["nginx:1.27-alpine", "ghcr.io/acme/api:12", "postgres:16-alpine", "redis:7-alpine"]
    for i in range(_blocks(services, 4) * 4):
        on = "".join(f"      - net{(i + j) % nets}\n" for j in range(5))
        out.append(f"  s{i}:\n    image: {images[i % 4]}\n    networks:\n{on}")
    out.append("\nnetworks:\n")
    out.extend(f"  net{j}: {{}}\n" for j in range(nets))
    return Project("".join(out))


# --- global-db --------------------------------------------------------------------------------

def global_db(services: int) -> Project:
    out = [_header("global-db", services, "one postgres and one redis named by every API and worker of one image"),
           "services:\n  pg:\n    image: postgres:16-alpine\n  redis:\n    image: redis:7-alpine\n"]
    for k in range(_blocks(services, 4)):
        if k:  # block 0 is the two servers and an API with its worker
            out.append(f"  web{k}:\n    image: nginx:1.27-alpine\n    ports:\n      - \"{10000 + k}:80\"\n"
                       f"    depends_on: [api{k}]\n")
        out.append(
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:13\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://app{k}:s{k}@pg:5432/app{k}\n"  # a database of its own on the one server
            f"      REDIS_URL: redis://redis:6379/{k % 16}\n"  # 16 values, each shared by a sixteenth of the APIs
            f"  worker{k}:\n"
            f"    image: ghcr.io/acme/worker:13\n"
            f"    environment:\n"
            f"      QUEUE_URL: redis://redis:6379/{k}\n"  # workers of one image sharing nothing
        )
        if k:
            out.append(f"  cron{k}:\n    image: ghcr.io/acme/cron:13\n    environment:\n"
                       f"      DATABASE_URL: postgres://cron{k}@pg:5432/app{k}\n")
    return Project("".join(out))


# --- hub-anchor -------------------------------------------------------------------------------

def hub_anchor(services: int) -> Project:
    out = [_header("hub-anchor", services, "an anchor every service merges: one network, depends_on two hubs"),
           "x-base: &base\n  restart: always\n  networks: [appnet]\n  depends_on:\n    - otel\n    - vault\n\n",
           "services:\n"
           "  otel:\n    image: otel/opentelemetry-collector:0.100.0\n    networks: [appnet]\n"
           "  vault:\n    image: hashicorp/vault:1.16\n    networks: [appnet]\n"]
    for k in range(_blocks(services, 4)):
        if k:  # block 0 is the two hubs, an API and its database
            out.append(f"  web{k}:\n    <<: *base\n    image: nginx:1.27-alpine\n    ports:\n      - \"{10000 + k}:80\"\n")
        out.append(
            f"  api{k}:\n    <<: *base\n    image: ghcr.io/acme/api:14.{k}\n    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            + (f"      REDIS_URL: redis://cache{k}:6379\n" if k else "")
            + f"  db{k}:\n    <<: *base\n    image: postgres:16-alpine\n"
            + (f"  cache{k}:\n    <<: *base\n    image: redis:7-alpine\n" if k else "")
        )
    out.append("\nnetworks:\n  appnet: {}\n")
    return Project("".join(out))


# --- gateway-nets -----------------------------------------------------------------------------

def gateway_nets(services: int) -> Project:
    blocks = _blocks(services, 4)
    conf = ["server {\n  listen 80;\n"]
    conf += [f"  location /a{k}/ {{ proxy_pass http://api{k}:8000; }}\n" for k in range(1, blocks)] + ["}\n"]
    out = [_header("gateway-nets", services, "one nginx (its configuration routing to every API) on every block's network"),
           "services:\n  gateway:\n    image: nginx:1.27-alpine\n    ports:\n      - \"80:80\"\n"
           "    volumes:\n      - ./nginx.conf:/etc/nginx/conf.d/default.conf:ro\n    networks:\n"]
    out.extend(f"      - b{k}\n" for k in range(1, blocks))
    out.append("  traefik:\n    image: traefik:v3.0\n    command: [\"--providers.docker=true\"]\n    ports:\n"
               "      - \"8080:80\"\n    volumes:\n      - /var/run/docker.sock:/var/run/docker.sock:ro\n    networks:\n")
    out.extend(f"      - b{k}\n" for k in range(1, blocks))
    out.append("  api0:\n    image: ghcr.io/acme/api:15.0\n    networks: [b1]\n")  # block 0: the two proxies, an API
    for k in range(1, blocks):
        out.append(
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:15.{k}\n"
            f"    labels:\n"
            f"      traefik.enable: \"true\"\n"
            f"      traefik.docker.network: bench-gateway-nets-{services}_b{k}\n"
            f"      traefik.http.routers.api{k}.rule: Host(`api{k}.example.com`)\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      REDIS_URL: redis://cache{k}:6379\n"
            f"    networks:\n      - b{k}\n"
            f"  db{k}:\n    image: postgres:16-alpine\n    networks:\n      - b{k}\n"
            f"  cache{k}:\n    image: redis:7-alpine\n    networks:\n      - b{k}\n"
        )
    out.append("\nnetworks:\n")
    out.extend(f"  b{k}:\n" for k in range(1, blocks))  # null definitions
    return Project("".join(out), {"nginx.conf": "".join(conf)})


# --- private-nets -----------------------------------------------------------------------------

def private_nets(services: int) -> Project:
    out = [_header("private-nets", services, "each API on a shared front and a network of its own with its database"),
           "services:\n"]
    for k in range(_blocks(services, 2)):
        out.append(
            f"  api{k}:\n    image: ghcr.io/acme/api:16.{k}\n    ports:\n      - \"{10000 + k}:8000\"\n"
            f"    environment:\n      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"    networks:\n      - front\n      - b{k}\n"
            f"  db{k}:\n    image: postgres:16-alpine\n    networks:\n      - b{k}\n"
        )
    out.append("\nnetworks:\n  front:\n")
    out.extend(f"  b{k}:\n" for k in range(_blocks(services, 2)))  # null definitions, each made internal
    return Project("".join(out))


# --- hub-blocks -------------------------------------------------------------------------------

def hub_blocks(services: int) -> Project:
    blocks = _blocks(services, 4)
    out = [_header("hub-blocks", services, "a vault on every block's network, every service depending on it"),
           "x-base: &base\n  restart: always\n  depends_on: [vault]\n  environment:\n    VAULT_ADDR: http://vault:8200\n\n",
           "services:\n  vault:\n    image: hashicorp/vault:1.16\n    networks:\n"]
    out.extend(f"      - b{k}\n" for k in range(1, blocks))
    for k in range(1, blocks):  # block 0 is the vault, an API, its database and cache
        out.append(
            f"  web{k}:\n    <<: *base\n    image: nginx:1.27-alpine\n    ports:\n      - \"{10000 + k}:80\"\n"
            f"    networks: [edge, b{k}]\n"
            f"  api{k}:\n    <<: *base\n    image: ghcr.io/acme/api:17.{k}\n    environment:\n"
            f"      VAULT_ADDR: http://vault:8200\n      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      REDIS_URL: redis://cache{k}:6379\n    networks: [b{k}]\n"
            f"  db{k}:\n    <<: *base\n    image: postgres:16-alpine\n    networks: [b{k}]\n"
            f"  cache{k}:\n    <<: *base\n    image: redis:7-alpine\n    networks: [b{k}]\n"
        )
    out.append("  api0:\n    <<: *base\n    image: ghcr.io/acme/api:17.0\n    environment:\n"
               "      DATABASE_URL: postgres://db0:5432/app\n    networks: [b1]\n"
               "  db0:\n    <<: *base\n    image: postgres:16-alpine\n    networks: [b1]\n"
               "  cache0:\n    <<: *base\n    image: redis:7-alpine\n    networks: [b1]\n")
    out.append("\nnetworks:\n  edge: {}\n")
    out.extend(f"  b{k}: {{}}\n" for k in range(1, blocks))
    return Project("".join(out))


# --- mounted: configuration read from files -----------------------------------------------------

def mounted(services: int) -> Project:
    blocks = _blocks(services, 4)
    out = [_header("mounted", services, "each nginx and API reads its own mounted configuration and env file"),
           "services:\n"]
    files: dict[str, str] = {}
    for k in range(blocks):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    volumes:\n"
            f"      - ./nginx/web{k}.conf:/etc/nginx/conf.d/default.conf:ro\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:18.{k}\n"
            f"    env_file: env/api{k}.env\n"
            f"    volumes:\n"
            f"      - ./config/api{k}.ini:/app/settings.ini:ro\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
        )
        files[f"nginx/web{k}.conf"] = (
            "server {\n    listen 80;\n    location / {\n"
            f"        proxy_pass http://api{k}:8000;\n        proxy_set_header Host $host;\n    }}\n}}\n")
        files[f"config/api{k}.ini"] = f"[database]\nhost = db{k}\nport = 5432\n\n[cache]\n# sessions\nurl = redis://cache{k}:6379/1\n"
        files[f"env/api{k}.env"] = f"DB_NAME=app\nCACHE_HOST=cache{k}\nLOG_LEVEL=info\n"
    return Project("".join(out), files)


# --- build-mount: a build context mounted into its services ----------------------------------------

def build_mount(services: int) -> Project:
    out = [_header("build-mount", services, "APIs built from one context that they also mount (.:/app)"), "services:\n"]
    for k in range(_blocks(services, 5)):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    depends_on:\n"
            f"      - api{k}\n"
            f"  api{k}:\n"
            f"    build: .\n"
            f"    volumes:\n"
            f"      - .:/app   # live reload\n"
            f"    environment:\n"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"  exporter{k}:\n"
            f"    image: prometheuscommunity/postgres-exporter:v0.15.0\n"
            f"    environment:\n"
            f"      DATA_SOURCE_NAME: postgresql://exporter:secret@db{k}:5432/app?sslmode=disable\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
        )
    return Project("".join(out), dict(BUILD_FILES))

# --- links: link aliases --------------------------------------------------------------------------

def links(services: int) -> Project:
    out = [_header("links", services, "web and API services linked to the next tier, the API through link aliases"),
           "services:\n"]
    for k in range(_blocks(services, 4)):
        out.append(
            f"  web{k}:\n"
            f"    image: nginx:1.27-alpine\n"
            f"    ports:\n"
            f'      - "{10000 + k}:80"\n'
            f"    links:\n"
            f"      - api{k}\n"
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:19.{k}\n"
            f"    links:\n"
            f"      - db{k}:database\n"
            f"      - cache{k}:redis\n"
            f"    environment:\n"
            f"      DB_HOST: database\n"
            f"      REDIS_HOST: redis\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
        )
    return Project("".join(out))


# --- big-env: long environments ---------------------------------------------------------------

def big_env(services: int) -> Project:
    out = [_header("big-env", services, "APIs and workers with long environments (30 and 27 variables)"), "services:\n"]
    for k in range(_blocks(services, 4)):
        settings = [(f"SETTING_{i}", f"value-{i}-of-block-{k}") for i in range(26)]
        api_env = "".join(f"      {name}: {value}\n" for name, value in settings)
        worker_env = "".join(f"      - {name}={value}\n" for name, value in settings)  # the list form
        out.append(
            f"  api{k}:\n"
            f"    image: ghcr.io/acme/api:20.{k}\n"
            f"    ports:\n"
            f'      - "{10000 + k}:8000"\n'
            f"    environment:\n{api_env}"
            f"      DATABASE_URL: postgres://db{k}:5432/app\n"
            f"      CACHE_URL: redis://cache{k}:6379/0\n"
            f"      S3_ENDPOINT: https://s3.eu-west-1.amazonaws.com\n"
            f"      SMTP_HOST: smtp.example.com\n"
            f"  worker{k}:\n"
            f"    image: ghcr.io/acme/worker:20\n"
            f"    environment:\n{worker_env}"
            f"      - BROKER_URL=redis://cache{k}:6379/1\n"
            f"  db{k}:\n"
            f"    image: postgres:16-alpine\n"
            f"  cache{k}:\n"
            f"    image: redis:7-alpine\n"
        )
    return Project("".join(out))


SHAPES: dict[str, Callable[[int], Project]] = {
    "four-tier": four_tier,
    "anchors": anchors,
    "flat-net": flat_net,
    "segmented": segmented,
    "extends": extends,
    "build": build,
    "edge-data": edge_data,
    "long-chain": long_chain,
    "shared-nets": shared_nets,
    "anchor-nets": anchor_nets,
    "merge-lists": merge_lists,
    "dense-deps": dense_deps,
    "workers": workers,
    "sidecars": sidecars,
    "wide-nets": wide_nets,
    "global-db": global_db,
    "hub-anchor": hub_anchor,
    "gateway-nets": gateway_nets,
    "private-nets": private_nets,
    "hub-blocks": hub_blocks,
    "mounted": mounted,
    "build-mount": build_mount,
    "links": links,
    "big-env": big_env,
    "mixed": mixed,
}

BLOCK_SIZES = {"four-tier": 4, "anchors": 5, "flat-net": 4, "segmented": 4, "extends": 5, "build": 5,
               "edge-data": 2, "long-chain": 4, "shared-nets": 4, "anchor-nets": 4, "merge-lists": 4, "dense-deps": 4,
               "workers": 4, "sidecars": 4, "wide-nets": 4, "global-db": 4, "hub-anchor": 4,
               "gateway-nets": 4, "private-nets": 2, "hub-blocks": 4, "mounted": 4, "build-mount": 5, "links": 4, "big-env": 4,
               "mixed": 10}
