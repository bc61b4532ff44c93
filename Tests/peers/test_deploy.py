"""Static checks of the deployment files: the Dockerfile, deploy/compose.yaml and deploy/kubernetes/.

Nothing is built or started. The files are parsed and checked against each other and against the code:
every role they run, every NEWSALERT_* variable they set and every topic they name must be one newsalert
has, and every reference between Kubernetes objects (Service → Deployment, HPA/PDB → Deployment,
envFrom → ConfigMap/Secret, kustomization → files) must resolve.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

import pytest
import yaml

from conftest import newsalert_binary, topic_layout

REPO_ROOT = Path(__file__).resolve().parents[2]
DEPLOY = REPO_ROOT / "deploy"
KUBERNETES = DEPLOY / "kubernetes"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = REPO_ROOT / "Dockerfile"

# The roles of the `newsalert` binary, as the deployment runs them: role → allowed --channel values.
ROLES: dict[str, set[str]] = {
    "serve": set(),
    "ingest": set(),
    "enrich": set(),
    "fanout": set(),
    "deliver": {"webhook", "email"},
    "ticker": set(),
}
# What each role service / manifest must run.
ROLE_COMMANDS: dict[str, list[str]] = {
    "ingest": ["ingest"],
    "enrich": ["enrich"],
    "fanout": ["fanout"],
    "deliver-webhook": ["deliver", "--channel", "webhook"],
    "deliver-email": ["deliver", "--channel", "email"],
    "ticker": ["ticker"],
}
# The topic each scalable role consumes: its partition count bounds the replicas that get work.
INPUT_TOPICS = {
    "enrich": "news.events",
    "fanout": "news.enriched",
    "deliver-webhook": "alerts.webhook",
    "deliver-email": "alerts.email",
    "ticker": "alerts.ticker",
}
HPA_ROLES = {"fanout", "deliver-webhook", "deliver-email"}
# Roles whose SQLite holds work not yet done (story index, held alerts, retry queue): StatefulSets whose data
# directory is a volume claim, so a replaced pod finds it again.
STATEFUL_ROLES = {"enrich", "fanout", "deliver-webhook", "deliver-email"}
# Variables that hold credentials: only in a Secret / env_file, never in a ConfigMap or compose.yaml.
SECRET_VARIABLES = {
    "NEWSALERT_SMTP_USERNAME",
    "NEWSALERT_SMTP_PASSWORD",
    "NEWSALERT_KAFKA_SASL_USERNAME",
    "NEWSALERT_KAFKA_SASL_PASSWORD",
    "NEWSALERT_GRIP_KEY",
}
# The GRIP proxy in front of the ticker (Pushpin's image, not newsalert's): checked by its own tests below.
PROXY_COMPONENT = "grip-proxy"
PUSHPIN_IMAGE = "fanout/pushpin"
NEWSALERT_IMAGE = "newsalert:latest"
DEFAULT_PORT = 8080

ENV_NAME = re.compile(r"\bNEWSALERT_[A-Z0-9_]*[A-Z0-9]\b")


# ---- loading -------------------------------------------------------------------------------------

def yaml_files() -> list[Path]:
    return sorted(p for p in DEPLOY.rglob("*") if p.suffix in {".yaml", ".yml"} and p.is_file())


@lru_cache(maxsize=None)
def load_documents(path: Path) -> tuple:
    with path.open(encoding="utf-8") as handle:
        return tuple(doc for doc in yaml.safe_load_all(handle) if doc is not None)


@lru_cache(maxsize=None)
def compose() -> dict:
    documents = load_documents(COMPOSE_FILE)
    assert len(documents) == 1, "compose.yaml must be a single YAML document"
    return documents[0]


def services() -> dict:
    return compose()["services"]


def newsalert_services() -> dict:
    """Compose services running the newsalert image (the roles and the topics job)."""
    return {name: s for name, s in services().items() if s.get("image") == NEWSALERT_IMAGE or "build" in s}


@lru_cache(maxsize=None)
def kubernetes_objects() -> list[tuple[Path, dict]]:
    objects = []
    for path in sorted(KUBERNETES.glob("*.yaml")):
        if path.name == "kustomization.yaml":
            continue
        for doc in load_documents(path):
            objects.append((path, doc))
    return objects


def objects_of(kind: str) -> list[dict]:
    return [doc for _, doc in kubernetes_objects() if doc.get("kind") == kind]


def by_name(kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in objects_of(kind)}


def is_proxy(doc: dict) -> bool:
    return doc["metadata"].get("labels", {}).get("app.kubernetes.io/component") == PROXY_COMPONENT


def workloads() -> list[dict]:
    """The roles' Deployments and StatefulSets (not the GRIP proxy)."""
    return [doc for doc in objects_of("Deployment") + objects_of("StatefulSet") if not is_proxy(doc)]


def component(deployment: dict) -> str:
    return deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"]


def pod_containers(workload: dict) -> list[dict]:
    return workload["spec"]["template"]["spec"]["containers"]


def selects(selector: dict, labels: dict) -> bool:
    return bool(selector) and all(labels.get(key) == value for key, value in selector.items())


def newsalert_output(*args: str) -> str:
    """What the binary under test prints for ``newsalert <args>`` (which must succeed)."""
    result = subprocess.run([str(newsalert_binary()), *args], capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"newsalert {' '.join(args)} exited with {result.returncode}: {result.stderr}"
    return result.stdout


@lru_cache(maxsize=None)
def newsalert_settings() -> frozenset[str]:
    """Every NEWSALERT_* setting the binary reads (`newsalert config print` lists each with its value)."""
    return frozenset(re.findall(r"^(NEWSALERT_\w+)=", newsalert_output("config", "print"), re.MULTILINE))


def news_topics() -> dict[str, int]:
    """Topic name → partitions, as `newsalert topics ensure` creates them."""
    return {name: topic["partitions"] for name, topic in topic_layout().items()}


def deploy_text_files() -> list[Path]:
    files = [p for p in DEPLOY.rglob("*") if p.is_file()]
    return sorted(files) + [DOCKERFILE]


def role_of(args: list[str]) -> str:
    """The role that `newsalert <args>` runs; raises AssertionError for anything else."""
    assert args, "no arguments: the image would run its default command"
    role = args[0]
    assert role in ROLES, f"{args!r}: {role!r} is not a newsalert role ({', '.join(sorted(ROLES))})"
    channels = ROLES[role]
    if channels:
        assert "--channel" in args, f"{args!r}: {role} needs --channel"
        channel = args[args.index("--channel") + 1]
        assert channel in channels, f"{args!r}: unknown channel {channel!r}"
    return role


def command_list(service: dict) -> list[str]:
    command = service.get("command")
    assert isinstance(command, list), "use the list form of command"
    return [str(part) for part in command]


# ---- Dockerfile -------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def dockerfile_stages() -> list[dict]:
    """Each stage: base image (ARG defaults substituted), alias and its instructions (continuations joined)."""
    text = DOCKERFILE.read_text(encoding="utf-8")
    text = re.sub(r"\\\n", " ", text)
    arguments: dict[str, str] = {}
    stages: list[dict] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG" and not stages:
            name, _, default = rest.partition("=")
            arguments[name.strip()] = default.strip()
        elif instruction == "FROM":
            parts = rest.split()
            image = re.sub(r"\$\{?(\w+)\}?", lambda m: arguments.get(m.group(1), m.group(0)), parts[0])
            alias = parts[2] if len(parts) >= 3 and parts[1].upper() == "AS" else None
            stages.append({"image": image, "alias": alias, "lines": []})
        elif stages:
            stages[-1]["lines"].append((instruction, rest))
    return stages


def stage_text(stage: dict, instruction: str) -> str:
    return "\n".join(rest for inst, rest in stage["lines"] if inst == instruction)


def dockerfile_env() -> dict[str, str]:
    env: dict[str, str] = {}
    for inst, rest in dockerfile_stages()[-1]["lines"]:
        if inst == "ENV":
            for key, value in re.findall(r"(\w+)=(\S+)", rest):
                env[key] = value
    return env


def test_dockerfile_has_a_build_and_a_runtime_stage():
    stages = dockerfile_stages()
    assert len(stages) >= 2, "the Dockerfile must be multi-stage"
    builder, runtime = stages[0], stages[-1]
    assert re.fullmatch(r"swift:6\.\d+(\.\d+)?-bookworm", builder["image"]), builder["image"]
    assert re.fullmatch(r"debian:bookworm(-slim)?", runtime["image"]), runtime["image"]


def test_dockerfile_build_stage_installs_headers_and_builds_the_product():
    builder = dockerfile_stages()[0]
    run = stage_text(builder, "RUN")
    for package in ("librdkafka-dev", "libsqlite3-dev", "pkg-config", "iso-codes"):
        assert re.search(rf"\b{re.escape(package)}\b", run), f"build stage does not install {package}"
    assert re.search(r"swift build -c release --product newsalert\b", run), "no `swift build -c release --product newsalert`"
    assert ".resources" in run, "the resource bundles (*.resources) are not collected"


def test_dockerfile_runtime_stage_installs_libraries_and_copies_the_bundles():
    stages = dockerfile_stages()
    runtime = stages[-1]
    run = stage_text(runtime, "RUN")
    installs = " ".join(re.findall(r"apt-get install[^&;]*", run))
    for package in ("librdkafka1", "libsqlite3-0", "iso-codes", "ca-certificates", "tzdata"):
        assert re.search(rf"(?<![\w-]){re.escape(package)}(?![\w-])", installs), f"runtime stage does not install {package}"
    copies = [rest for inst, rest in runtime["lines"] if inst == "COPY" and "--from=" in rest]
    aliases = {stage["alias"] for stage in stages[:-1]}
    assert copies, "the runtime stage copies nothing from the build stage"
    for rest in copies:
        source = re.search(r"--from=(\S+)", rest).group(1)
        assert source in aliases, f"COPY --from={source}: no such stage"


def test_dockerfile_runs_as_a_non_root_user():
    runtime = dockerfile_stages()[-1]
    users = [rest.strip() for inst, rest in runtime["lines"] if inst == "USER"]
    assert users, "the runtime stage has no USER"
    user = users[-1].split(":")[0]
    assert user not in {"root", "0"}, f"USER {users[-1]} is root"


def test_dockerfile_port_and_data_dir_match_its_environment():
    runtime = dockerfile_stages()[-1]
    env = dockerfile_env()
    exposed = {int(p.split("/")[0]) for rest in [stage_text(runtime, "EXPOSE")] for p in rest.split()}
    assert int(env.get("NEWSALERT_PORT", DEFAULT_PORT)) in exposed, f"EXPOSE {exposed} lacks NEWSALERT_PORT"
    assert env.get("NEWSALERT_HOST") == "0.0.0.0", "without NEWSALERT_HOST=0.0.0.0 the roles listen on 127.0.0.1 only"
    data_dir = env.get("NEWSALERT_DATA_DIR")
    assert data_dir == "/var/lib/newsalert", data_dir
    assert data_dir in stage_text(runtime, "VOLUME"), "the data directory is not a VOLUME"


def test_dockerignore_keeps_local_state_out_of_the_context():
    entries = {line.strip().rstrip("/") for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()}
    missing = {".build", ".venv", "data", ".git"} - entries
    assert not missing, f".dockerignore lacks {sorted(missing)}"


# ---- every YAML file --------------------------------------------------------------------------

@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(DEPLOY)))
def test_yaml_file_parses(path: Path):
    documents = load_documents(path)
    assert documents, f"{path} holds no document"
    for doc in documents:
        assert isinstance(doc, dict), f"{path}: a document is not a mapping"


# ---- compose ----------------------------------------------------------------------------------

def effective_environment(service: dict) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    return {**dockerfile_env(), **{k: str(v) for k, v in environment.items()}}


def test_compose_has_one_service_per_role():
    for name, expected in ROLE_COMMANDS.items():
        assert name in services(), f"compose.yaml has no {name} service"
        args = command_list(services()[name])
        role_of(args)
        assert args == expected, f"{name} runs {args}, expected {expected}"


def test_compose_newsalert_services_use_the_image_built_from_the_dockerfile():
    for name in [*ROLE_COMMANDS, "topics"]:
        service = services()[name]
        assert service.get("image") == NEWSALERT_IMAGE, f"{name}: image {service.get('image')!r}"
        build = service.get("build")
        assert isinstance(build, dict), f"{name}: no build section"
        context = (COMPOSE_FILE.parent / build["context"]).resolve()
        assert context == REPO_ROOT, f"{name}: build context {context} is not the repository"
        assert (context / build.get("dockerfile", "Dockerfile")).resolve() == DOCKERFILE, f"{name}: not the top-level Dockerfile"


def test_compose_every_command_is_a_role_or_topics_ensure():
    for name, service in newsalert_services().items():
        args = command_list(service)
        if args[0] == "topics":
            assert args[:2] == ["topics", "ensure"], f"{name}: {args}"
        else:
            role_of(args)


def test_compose_roles_wait_for_kafka_and_the_topics():
    topics = services()["topics"]
    assert command_list(topics)[:2] == ["topics", "ensure"]
    assert topics.get("restart", "no") == "no", "a one-shot service must not restart"
    assert topics.get("depends_on", {}).get("kafka", {}).get("condition") == "service_healthy"
    assert "healthcheck" in services()["kafka"], "service_healthy needs a Kafka healthcheck"
    for name in ROLE_COMMANDS:
        depends = services()[name].get("depends_on")
        assert isinstance(depends, dict), f"{name}: depends_on must use conditions"
        assert depends.get("kafka", {}).get("condition") == "service_healthy", f"{name}: not waiting for kafka"
        assert depends.get("topics", {}).get("condition") == "service_completed_successfully", f"{name}: not waiting for topics"


def test_compose_ports_and_healthchecks_match_newsalert_port():
    host_ports: dict[int, str] = {}
    for name, service in services().items():
        for mapping in service.get("ports", []):
            parts = str(mapping).split(":")
            host = int(parts[-2])
            assert host not in host_ports, f"host port {host} used by {host_ports[host]} and {name}"
            host_ports[host] = name
    for name in ROLE_COMMANDS:
        service = services()[name]
        port = int(effective_environment(service).get("NEWSALERT_PORT", DEFAULT_PORT))
        for mapping in service.get("ports", []):
            container = int(str(mapping).split(":")[-1].split("/")[0])
            assert container == port, f"{name}: publishes container port {container}, listens on {port}"
        test = " ".join(service.get("healthcheck", {}).get("test", []))
        match = re.search(r"https?://[^/:\s]+:(\d+)(/\S*)", test)
        assert match, f"{name}: healthcheck has no URL: {test!r}"
        assert int(match.group(1)) == port, f"{name}: healthcheck on port {match.group(1)}, listens on {port}"
        assert match.group(2) == "/readyz", f"{name}: healthcheck probes {match.group(2)}"
    assert "ingest" in host_ports.values(), "the newsroom API is not published"
    assert "ticker" in host_ports.values(), "the WebSocket ticker is not published"


def test_compose_kafka_is_a_single_kraft_node():
    kafka = services()["kafka"]
    assert kafka["image"] == "apache/kafka:3.9.0"
    env = {k: str(v) for k, v in kafka["environment"].items()}
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    node_id = env["KAFKA_NODE_ID"]
    voters = dict(voter.split("@") for voter in env["KAFKA_CONTROLLER_QUORUM_VOTERS"].split(","))
    assert node_id in voters, "the node is not a controller quorum voter"
    listeners = dict(re.match(r"(\w+)://(.*)", listener).groups() for listener in env["KAFKA_LISTENERS"].split(","))
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    assert controller in listeners, f"no {controller} listener"
    assert voters[node_id].split(":")[1] == listeners[controller].rsplit(":", 1)[1], "voter port is not the controller listener"
    security_map = dict(item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    assert set(listeners) <= set(security_map), "a listener has no security protocol"
    assert len(base64.urlsafe_b64decode(env["CLUSTER_ID"] + "==")) == 16, "CLUSTER_ID must be a base64 UUID"
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false", "topics must come from `topics ensure`, not auto-creation"
    for key, value in env.items():
        if key.endswith("REPLICATION_FACTOR") or key.endswith("MIN_ISR"):
            assert int(value) <= 1, f"{key}={value} on a single broker"
    advertised = {a.split("://")[1] for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    for name, service in newsalert_services().items():
        servers = effective_environment(service).get("NEWSALERT_BOOTSTRAP_SERVERS")
        assert servers in advertised, f"{name}: NEWSALERT_BOOTSTRAP_SERVERS={servers!r} is not an advertised listener {advertised}"


def test_compose_topics_replication_fits_the_brokers():
    brokers = sum(1 for s in services().values() if str(s.get("image", "")).startswith("apache/kafka"))
    args = command_list(services()["topics"])
    # `topics ensure` defaults to replication factor 3.
    factor = int(args[args.index("--replication-factor") + 1]) if "--replication-factor" in args else 3
    assert factor <= brokers, f"replication factor {factor} with {brokers} broker(s)"


def test_compose_mail_goes_to_mailpit():
    mailpit = services()["mailpit"]
    assert str(mailpit["image"]).split(":")[0] == "axllent/mailpit"
    published = {str(p).split(":")[-1] for p in mailpit.get("ports", [])}
    assert {"1025", "8025"} <= published, published
    relay = effective_environment(services()["deliver-email"]).get("NEWSALERT_SMTP_RELAY")
    assert relay == "mailpit:1025", relay
    assert "mailpit" in services()["deliver-email"]["depends_on"]


def test_compose_holds_no_credentials_and_volumes_resolve():
    declared = set((compose().get("volumes") or {}).keys())
    used: set[str] = set()
    for name, service in services().items():
        inline = set(effective_environment(service)) & SECRET_VARIABLES
        assert not inline, f"{name}: credentials inline: {sorted(inline)}"
        for volume in service.get("volumes", []):
            source, target = str(volume).split(":")[:2]
            if not source.startswith((".", "/")):
                assert source in declared, f"{name}: volume {source} is not declared"
                used.add(source)
            if name in newsalert_services():
                assert target == effective_environment(service)["NEWSALERT_DATA_DIR"], f"{name}: mounts {target}"
    assert declared <= used, f"declared but unused volumes: {sorted(declared - used)}"
    example = (DEPLOY / "newsalert.secrets.env.example").read_text()
    assert SECRET_VARIABLES <= set(ENV_NAME.findall(example)), "the env_file example lacks a credential"
    for name in ROLE_COMMANDS:
        files = services()[name].get("env_file", [])
        paths = [f["path"] if isinstance(f, dict) else f for f in files]
        assert "./newsalert.secrets.env" in paths, f"{name}: does not read the credentials env_file"


# ---- Kubernetes -------------------------------------------------------------------------------

def deployment_for(role: str) -> dict:
    matches = [d for d in workloads() if component(d) == role]
    assert len(matches) == 1, f"{len(matches)} workloads for {role}"
    return matches[0]


def resolve_port(port, container: dict) -> int:
    declared = {p.get("name"): p["containerPort"] for p in container.get("ports", [])}
    if isinstance(port, str) and not port.isdigit():
        assert port in declared, f"port {port!r} is not a declared container port {declared}"
        return declared[port]
    assert int(port) in declared.values(), f"port {port} is not a declared container port {declared}"
    return int(port)


def configmap_data() -> dict:
    maps = objects_of("ConfigMap")
    assert len(maps) == 1
    return maps[0]["data"]


def test_kubernetes_one_workload_and_service_per_role_file():
    for role, expected in ROLE_COMMANDS.items():
        path = KUBERNETES / f"{role}.yaml"
        kinds = sorted(doc["kind"] for doc in load_documents(path))
        workload_kind = "StatefulSet" if role in STATEFUL_ROLES else "Deployment"
        assert workload_kind in kinds and "Service" in kinds, f"{path.name}: {kinds}, expected a {workload_kind} and a Service"
        deployment = next(doc for doc in load_documents(path) if doc["kind"] == workload_kind)
        assert component(deployment) == role
        (container,) = pod_containers(deployment)
        args = [str(a) for a in container.get("args", [])]
        role_of(args)
        assert args == expected, f"{path.name} runs {args}, expected {expected}"


def test_kubernetes_job_runs_topics_ensure():
    jobs = objects_of("Job")
    assert len(jobs) == 1
    (container,) = pod_containers(jobs[0])
    assert [str(a) for a in container["args"]][:2] == ["topics", "ensure"]
    assert jobs[0]["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_kubernetes_probes_use_the_container_port():
    port = int(configmap_data().get("NEWSALERT_PORT", DEFAULT_PORT))
    for deployment in workloads():
        name = deployment["metadata"]["name"]
        for container in pod_containers(deployment):
            for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/healthz")):
                spec = container.get(probe)
                assert spec and "httpGet" in spec, f"{name}: no HTTP {probe}"
                assert spec["httpGet"]["path"] == path, f"{name}: {probe} probes {spec['httpGet']['path']}"
                assert resolve_port(spec["httpGet"]["port"], container) == port, f"{name}: {probe} not on NEWSALERT_PORT {port}"


def test_kubernetes_services_select_their_workload_and_target_its_port():
    deployments = workloads()
    for service in objects_of("Service"):
        if is_proxy(service):
            continue
        name = service["metadata"]["name"]
        selector = service["spec"].get("selector", {})
        selected = [d for d in deployments if selects(selector, d["spec"]["template"]["metadata"]["labels"])]
        assert len(selected) == 1, f"Service {name} selects {[d['metadata']['name'] for d in selected]}"
        (container,) = pod_containers(selected[0])
        readiness_port = resolve_port(container["readinessProbe"]["httpGet"]["port"], container)
        for port in service["spec"]["ports"]:
            assert resolve_port(port.get("targetPort", port["port"]), container) == readiness_port, f"Service {name}"
    for deployment in deployments:
        matched = [s for s in objects_of("Service")
                   if selects(s["spec"].get("selector", {}), deployment["spec"]["template"]["metadata"]["labels"])]
        assert matched, f"no Service for {deployment['metadata']['name']}"


def test_kubernetes_roles_with_pending_work_keep_it_on_a_volume_claim():
    data_dir = configmap_data()["NEWSALERT_DATA_DIR"]
    services = by_name("Service")
    for role in STATEFUL_ROLES:
        workload = deployment_for(role)
        name = workload["metadata"]["name"]
        assert workload["kind"] == "StatefulSet", f"{name}: a {workload['kind']} loses its SQLite with the pod"
        assert workload["spec"].get("serviceName") in services, f"{name}: serviceName names no Service"
        (container,) = pod_containers(workload)
        data_volume = next((m["name"] for m in container.get("volumeMounts", []) if m["mountPath"] == data_dir), None)
        claims = {t["metadata"]["name"]: t for t in workload["spec"].get("volumeClaimTemplates", [])}
        assert data_volume in claims, f"{name}: {data_dir} is not on a volume claim template"
        assert "ReadWriteOnce" in claims[data_volume]["spec"]["accessModes"], name
        emptied = {v["name"] for v in workload["spec"]["template"]["spec"].get("volumes", []) if "emptyDir" in v}
        assert data_volume not in emptied, f"{name}: the data directory is an emptyDir"
    assert deployment_for("enrich")["spec"].get("replicas") == 1, "enrich threads stories in one process: one replica"


def test_kubernetes_workload_selectors_match_their_pods():
    for workload in workloads():
        selector = workload["spec"]["selector"]["matchLabels"]
        assert selects(selector, workload["spec"]["template"]["metadata"]["labels"]), workload["metadata"]["name"]


def test_kubernetes_containers_are_bounded_and_unprivileged():
    for workload in workloads() + objects_of("Job"):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        assert pod.get("securityContext", {}).get("runAsNonRoot") is True, f"{name}: runAsNonRoot"
        # Kubernetes adds <SERVICE>_PORT=tcp://... variables per Service; a Service named `newsalert` would
        # override NEWSALERT_PORT. Service links stay off.
        assert pod.get("enableServiceLinks") is False, f"{name}: enableServiceLinks must be false"
        for container in pod["containers"]:
            resources = container.get("resources", {})
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(resources.get(kind, {})), f"{name}: {kind} lack cpu/memory"
            assert container["image"].split(":")[0] == "newsalert", f"{name}: image {container['image']}"


def test_kubernetes_env_references_resolve():
    configmaps, secrets = by_name("ConfigMap"), by_name("Secret")
    claims = by_name("PersistentVolumeClaim")
    for workload in workloads() + objects_of("Job"):
        name = workload["metadata"]["name"]
        pod = workload["spec"]["template"]["spec"]
        for container in pod["containers"]:
            sources = container.get("envFrom", [])
            assert any("configMapRef" in s for s in sources) and any("secretRef" in s for s in sources), name
            for source in sources:
                if "configMapRef" in source:
                    assert source["configMapRef"]["name"] in configmaps, f"{name}: no ConfigMap {source['configMapRef']['name']}"
                if "secretRef" in source:
                    assert source["secretRef"]["name"] in secrets, f"{name}: no Secret {source['secretRef']['name']}"
            for variable in container.get("env", []):
                reference = variable.get("valueFrom", {})
                if "configMapKeyRef" in reference:
                    assert reference["configMapKeyRef"]["name"] in configmaps, name
                if "secretKeyRef" in reference:
                    assert reference["secretKeyRef"]["name"] in secrets, name
            mounts = {m["name"] for m in container.get("volumeMounts", [])}
            templates = {t["metadata"]["name"] for t in workload["spec"].get("volumeClaimTemplates", [])}
            volumes = {v["name"] for v in pod.get("volumes", [])} | templates
            assert mounts <= volumes, f"{name}: mounts undeclared volumes {sorted(mounts - volumes)}"
            data_mounts = [m["mountPath"] for m in container.get("volumeMounts", [])]
            if workload["kind"] != "Job":
                assert configmap_data()["NEWSALERT_DATA_DIR"] in data_mounts, f"{name}: data directory is not a volume"
        for volume in pod.get("volumes", []):
            if "persistentVolumeClaim" in volume:
                assert volume["persistentVolumeClaim"]["claimName"] in claims, f"{name}: no claim {volume}"


def test_kubernetes_credentials_only_in_the_secret():
    data = configmap_data()
    leaked = set(data) & SECRET_VARIABLES
    assert not leaked, f"credentials in the ConfigMap: {sorted(leaked)}"
    assert not [k for k in data if re.search(r"PASSWORD|SECRET|TOKEN", k)], "secret-looking keys in the ConfigMap"
    (secret,) = objects_of("Secret")
    assert "data" not in secret, "use stringData placeholders, not base64 data"
    values = secret.get("stringData", {})
    assert SECRET_VARIABLES <= set(values), f"the Secret lacks {sorted(SECRET_VARIABLES - set(values))}"
    for key, value in values.items():
        assert "REPLACE" in str(value), f"{key} is not a marked placeholder"
    assert "replace" in (KUBERNETES / "secret.yaml").read_text().lower().split("apiversion")[0], "secret.yaml does not say to replace it"


def test_kubernetes_hpas_target_existing_workloads():
    targeted = set()
    for hpa in objects_of("HorizontalPodAutoscaler"):
        assert hpa["apiVersion"] == "autoscaling/v2"
        target = hpa["spec"]["scaleTargetRef"]
        assert target["apiVersion"] == "apps/v1" and target["kind"] in {"Deployment", "StatefulSet"}, target
        deployments = by_name(target["kind"])
        assert target["name"] in deployments, f"HPA targets missing {target['kind']} {target['name']}"
        deployment = deployments[target["name"]]
        role = component(deployment)
        targeted.add(role)
        low, high = hpa["spec"].get("minReplicas", 1), hpa["spec"]["maxReplicas"]
        assert 1 <= low <= high
        assert "replicas" not in deployment["spec"], f"{target['name']}: spec.replicas fights the HPA on every apply"
        partitions = news_topics()[INPUT_TOPICS[role]]
        assert high <= partitions, f"{role}: maxReplicas {high} > {partitions} partitions of {INPUT_TOPICS[role]}"
        for metric in hpa["spec"].get("metrics", []):
            if metric["type"] == "Resource":
                resource = metric["resource"]["name"]
                for container in pod_containers(deployment):
                    assert resource in container["resources"]["requests"], f"{role}: utilisation needs {resource} requests"
    assert targeted == HPA_ROLES, f"HPAs for {sorted(targeted)}, expected {sorted(HPA_ROLES)}"


def test_kubernetes_pdbs_select_one_workload_each():
    deployments = workloads()
    covered = set()
    for pdb in objects_of("PodDisruptionBudget"):
        if is_proxy(pdb) or pdb["spec"]["selector"]["matchLabels"].get("app.kubernetes.io/component") == PROXY_COMPONENT:
            continue
        selector = pdb["spec"]["selector"]["matchLabels"]
        selected = [d for d in deployments if selects(selector, d["spec"]["template"]["metadata"]["labels"])]
        assert len(selected) == 1, f"PDB {pdb['metadata']['name']} selects {len(selected)} workloads"
        deployment = selected[0]
        covered.add(deployment["metadata"]["name"])
        minimum = pdb["spec"].get("minAvailable")
        replicas = deployment["spec"].get("replicas")
        if isinstance(minimum, int) and replicas is not None:
            assert minimum < replicas, f"PDB {pdb['metadata']['name']}: minAvailable {minimum} blocks every drain"
    missing = {d["metadata"]["name"] for d in deployments} - covered
    assert not missing, f"no PodDisruptionBudget for {sorted(missing)}"


def test_kubernetes_objects_share_the_namespace():
    (namespace,) = objects_of("Namespace")
    name = namespace["metadata"]["name"]
    kustomization = load_documents(KUBERNETES / "kustomization.yaml")[0]
    assert kustomization.get("namespace") == name
    for path, doc in kubernetes_objects():
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == name, f"{path.name}: {doc['kind']} {doc['metadata']['name']}"


def test_kustomization_lists_exactly_the_manifests():
    kustomization = load_documents(KUBERNETES / "kustomization.yaml")[0]
    resources = kustomization["resources"]
    assert len(resources) == len(set(resources)), "duplicate resources"
    missing_files = [r for r in resources if not (KUBERNETES / r).is_file()]
    assert not missing_files, f"listed but absent: {missing_files}"
    on_disk = {p.name for p in KUBERNETES.glob("*.y*ml")} - {"kustomization.yaml"}
    unlisted = on_disk - set(resources)
    assert not unlisted, f"not listed in kustomization.yaml: {sorted(unlisted)}"
    expected = {"namespace.yaml", "configmap.yaml", "secret.yaml", "topics-job.yaml", "pdb.yaml", "hpa.yaml",
                *(f"{role}.yaml" for role in ROLE_COMMANDS)}
    assert expected <= set(resources), f"missing {sorted(expected - set(resources))}"
    for image in kustomization.get("images", []):
        assert image["name"] == "newsalert", image


# kubectl comes from scripts/bootstrap.sh (Debian package `kubectl`); without it this test fails, it never skips.
def test_kustomize_builds():
    assert shutil.which("kubectl"), "kubectl is missing: run scripts/bootstrap.sh test (it installs the Debian package)"
    result = subprocess.run(["kubectl", "kustomize", str(KUBERNETES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    kinds = [doc["kind"] for doc in yaml.safe_load_all(result.stdout) if doc]
    assert kinds.count("Deployment") + kinds.count("StatefulSet") == len(ROLE_COMMANDS) + 1  # + the GRIP proxy


# ---- against the code -------------------------------------------------------------------------

def deploy_env_names() -> list[str]:
    names: set[str] = set()
    for path in deploy_text_files():
        names.update(ENV_NAME.findall(path.read_text(encoding="utf-8", errors="replace")))
    return sorted(names)


def test_deploy_files_name_some_variables():
    assert {"NEWSALERT_BOOTSTRAP_SERVERS", "NEWSALERT_PORT", "NEWSALERT_DATA_DIR"} <= set(deploy_env_names())


@pytest.mark.parametrize("name", deploy_env_names())
def test_variable_is_read_by_newsalert(name: str):
    """Each NEWSALERT_* name in deploy/ or the Dockerfile is a setting newsalert reads."""
    assert name in newsalert_settings(), f"{name} is set by the deployment but `newsalert config print` does not list it"


def deploy_roles() -> list[str]:
    roles = {args[0] for args in ROLE_COMMANDS.values()} | {"topics"}
    return sorted(roles)


@lru_cache(maxsize=None)
def top_level_subcommands() -> frozenset[str]:
    """The subcommands `newsalert --help` lists."""
    listing = newsalert_output("--help").split("SUBCOMMANDS:", 1)[1]
    return frozenset(re.findall(r"^  ([a-z][a-z-]*)\b", listing, re.MULTILINE))


@pytest.mark.parametrize("role", deploy_roles())
def test_role_is_a_newsalert_subcommand(role: str):
    """Each command the deployment runs is a subcommand of the newsalert executable."""
    assert role in top_level_subcommands(), f"`newsalert {role}` is not a subcommand (has: {sorted(top_level_subcommands())})"


@pytest.mark.parametrize("channel", sorted(ROLES["deliver"]))
def test_deliver_channel_is_accepted(channel: str):
    """`newsalert deliver --channel <channel>` parses: the help lists the channel among the accepted values."""
    accepted = re.search(r"--channel <channel>.*?\(values: ([^)]*)\)", newsalert_output("deliver", "--help"), re.DOTALL)
    assert accepted, "`newsalert deliver --help` lists no values for --channel"
    names = [name.strip() for name in accepted.group(1).split(",")]
    assert channel in names, f"--channel {channel} is not accepted (channels: {names})"


def test_topic_names_in_deploy_files_exist():
    known = news_topics()
    pattern = re.compile(r"(?<![\w@./-])((?:news|alerts|subscriptions)\.[a-z][a-z0-9-]*)((?:\.[a-z0-9-]+)*)")
    seen = set()
    for path in deploy_text_files():
        text = path.read_text(encoding="utf-8", errors="replace")
        for match in pattern.finditer(text):
            if match.group(2):  # a host name such as news.example.org
                continue
            topic = match.group(1)
            seen.add(topic)
            assert topic in known, f"{path.relative_to(REPO_ROOT)}: unknown topic {topic!r} (known: {sorted(known)})"
        for topic, partitions in re.findall(r"([a-z]+\.[a-z]+)`? \((\d+) partitions\)", text):
            assert known.get(topic) == int(partitions), f"{path.name}: {topic} has {known.get(topic)} partitions, not {partitions}"
    if not seen:
        pytest.fail("no topic names in the deployment files")


# ---- the GRIP proxy in front of the ticker ------------------------------------------------------------

def test_compose_grip_proxy_fronts_the_ticker():
    proxy = services()["pushpin"]
    assert str(proxy["image"]).split(":")[0] == PUSHPIN_IMAGE, proxy["image"]
    script = " ".join(str(part) for part in proxy["command"])
    assert "* ticker:8080,over_http" in script, "the proxy does not route to the ticker with WebSocket-over-HTTP"
    assert "sig_key=$${NEWSALERT_GRIP_KEY" in script or "sig_key=${NEWSALERT_GRIP_KEY" in script, "sig_key is not NEWSALERT_GRIP_KEY"
    assert "push_in_http_addr=0.0.0.0" in script, "the publish port is not reachable from the ticker container"
    paths = [f["path"] if isinstance(f, dict) else f for f in proxy.get("env_file", [])]
    assert "./newsalert.secrets.env" in paths, "the proxy does not read the key from the credentials env_file"
    assert effective_environment(services()["ticker"]).get("NEWSALERT_GRIP_PUBLISH") == "http://pushpin:5561"
    assert "ticker" in proxy["depends_on"]


def test_kubernetes_grip_proxy_fronts_the_ticker():
    (proxy,) = [doc for doc in objects_of("Deployment") if is_proxy(doc)]
    (container,) = pod_containers(proxy)
    assert container["image"].split(":")[0] == PUSHPIN_IMAGE, container["image"]
    assert proxy["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    assert {"cpu", "memory"} <= set(container["resources"]["limits"]), container["resources"]
    script = " ".join(container["args"])
    assert "* newsalert-ticker:8080,over_http" in script, script
    assert "sig_key=${NEWSALERT_GRIP_KEY}" in script, script
    (key,) = [v for v in container["env"] if v["name"] == "NEWSALERT_GRIP_KEY"]
    assert key["valueFrom"]["secretKeyRef"] == {"name": "newsalert-secrets", "key": "NEWSALERT_GRIP_KEY"}
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 7999, "publish": 5561}, ports
    (service,) = [doc for doc in objects_of("Service") if is_proxy(doc)]
    assert selects(service["spec"]["selector"], proxy["spec"]["template"]["metadata"]["labels"])
    assert {p["port"] for p in service["spec"]["ports"]} == {7999, 5561}
    assert any(selects(pdb["spec"]["selector"]["matchLabels"], proxy["spec"]["template"]["metadata"]["labels"])
               for pdb in objects_of("PodDisruptionBudget")), "no PodDisruptionBudget for the GRIP proxy"
    (ticker_container,) = pod_containers(deployment_for("ticker"))
    publish = {v["name"]: v.get("value") for v in ticker_container.get("env", [])}.get("NEWSALERT_GRIP_PUBLISH")
    assert publish == f"http://{service['metadata']['name']}:5561", publish
