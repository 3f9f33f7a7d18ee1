"""A local stand-in for RunPod's API, for tests: this network cannot reach the real service.

It answers the requests the official ``runpod`` package (1.x) sends — recorded from its source
(``runpod/api/graphql.py``, ``api/mutations/pods.py``, ``api/queries/pods.py``, ``api/queries/gpus.py``):
one ``POST {RUNPOD_API_BASE_URL}/graphql`` per call with ``{"query": ...}``, ``Authorization: Bearer <api key>``
and ``Content-Type: application/json``; a 401 for a bad key, ``{"errors": [{"message": ...}]}`` for a failed
query. Account secrets use RunPod's REST API v2 (``POST /v2/secrets`` ``{"name", "value", "description"}``,
``DELETE /v2/secrets/{id}``; docs.runpod.io/api-reference-v2/account/create-a-secret), which the package lacks.

Every GraphQL document is parsed and validated against :data:`SCHEMA`, the part of RunPod's schema those
calls use (input types, enums, field names as RunPod documents them), so a malformed mutation — an unescaped
quote in ``dockerArgs``, a misspelt field, a wrong type — is a GraphQL error here as it would be there.
Spot pods are RunPod's ``podRentInterruptable(input: PodRentInterruptableInput!)`` (docs.runpod.io, "Manage
Pods": the on-demand fields plus ``bidPerGpu: Float!``), which the package lacks. The values RunPod checks are
checked too: a bid under the GPU type's ``lowestPrice.minimumBidPrice``, a ``networkVolumeId`` the account does
not have (``myself { networkVolumes }``) or in another data centre than ``dataCenterId``, an unknown data
centre, a CUDA version that is not one of RunPod's. Pods report ``costPerHr`` (the on-demand price, or the bid,
per GPU times the count), ``podType`` (``RESERVED`` / ``INTERRUPTABLE``) and ``machine.gpuDisplayName``;
:meth:`RunPodStandIn.preempt` plays RunPod taking a spot pod back (it stops: ``EXITED``).
Everything received is kept in :attr:`RunPodStandIn.requests` for tests to assert on.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import GraphQLError, build_schema, graphql_sync, parse, validate
from graphql.language import DocumentNode

SDL = """
scalar Void

enum CloudTypeEnum { ALL SECURE COMMUNITY }
enum PodStatus { CREATED RUNNING RESTARTING EXITED PAUSED DEAD TERMINATED }

input GpuTypeFilter { id: String }
input GpuLowestPriceInput { gpuCount: Int }
input PodFilter { podId: String! }
input PodTerminateInput { podId: String! }
input PodStopInput { podId: String! }
input EnvironmentVariableInput { key: String!, value: String! }

input PodRentInterruptableInput {
  bidPerGpu: Float!
  name: String
  imageName: String
  cloudType: CloudTypeEnum
  startSsh: Boolean
  gpuTypeId: String
  supportPublicIp: Boolean
  gpuCount: Int
  volumeInGb: Int
  minVcpuCount: Int
  minMemoryInGb: Int
  allowedCudaVersions: [String]
  dataCenterId: String
  dockerArgs: String
  countryCode: String
  containerDiskInGb: Int
  ports: String
  volumeMountPath: String
  env: [EnvironmentVariableInput]
  templateId: String
  networkVolumeId: String
  minDownload: Int
  minUpload: Int
}

input PodFindAndDeployOnDemandInput {
  name: String
  imageName: String
  cloudType: CloudTypeEnum
  startSsh: Boolean
  gpuTypeId: String
  supportPublicIp: Boolean
  gpuCount: Int
  volumeInGb: Int
  minVcpuCount: Int
  minMemoryInGb: Int
  allowedCudaVersions: [String]
  dataCenterId: String
  dockerArgs: String
  countryCode: String
  containerDiskInGb: Int
  ports: String
  volumeMountPath: String
  env: [EnvironmentVariableInput]
  templateId: String
  networkVolumeId: String
  minDownload: Int
  minUpload: Int
}

input deployCpuPodInput {
  name: String
  imageName: String
  cloudType: CloudTypeEnum
  startSsh: Boolean
  instanceId: String
  dataCenterId: String
  dockerArgs: String
  countryCode: String
  containerDiskInGb: Int
  ports: String
  volumeMountPath: String
  env: [EnvironmentVariableInput]
  templateId: String
  networkVolumeId: String
  minDownload: Int
  minUpload: Int
}

type LowestPrice { minimumBidPrice: Float, uninterruptablePrice: Float }

type GpuType {
  id: String
  displayName: String
  manufacturer: String
  memoryInGb: Int
  cudaCores: Int
  secureCloud: Boolean
  communityCloud: Boolean
  securePrice: Float
  communityPrice: Float
  oneMonthPrice: Float
  threeMonthPrice: Float
  oneWeekPrice: Float
  communitySpotPrice: Float
  secureSpotPrice: Float
  maxGpuCount: Int
  lowestPrice(input: GpuLowestPriceInput): LowestPrice
}

type PodRuntimePorts { ip: String, isIpPublic: Boolean, privatePort: Int, publicPort: Int, type: String }
type PodRuntime { uptimeInSeconds: Int, ports: [PodRuntimePorts] }
type PodMachineInfo { podHostId: String, gpuDisplayName: String }

type Pod {
  id: String
  containerDiskInGb: Int
  costPerHr: Float
  desiredStatus: PodStatus
  dockerArgs: String
  dockerId: String
  env: [String]
  gpuCount: Int
  imageName: String
  lastStatusChange: String
  machineId: String
  memoryInGb: Float
  name: String
  podType: String
  port: Int
  ports: String
  uptimeSeconds: Int
  vcpuCount: Float
  volumeInGb: Float
  volumeMountPath: String
  runtime: PodRuntime
  machine: PodMachineInfo
}

type NetworkVolume { id: String, name: String, size: Int, dataCenterId: String }

type User { id: String, pubKey: String, pods: [Pod], networkVolumes: [NetworkVolume] }

type Query {
  gpuTypes(input: GpuTypeFilter): [GpuType]
  pod(input: PodFilter): Pod
  myself: User
}

type Mutation {
  podFindAndDeployOnDemand(input: PodFindAndDeployOnDemandInput): Pod
  podRentInterruptable(input: PodRentInterruptableInput!): Pod
  deployCpuPod(input: deployCpuPodInput!): Pod
  podTerminate(input: PodTerminateInput): Void
  podStop(input: PodStopInput!): Pod
}
"""

#: The part of RunPod's GraphQL schema that pod create / get / terminate and the GPU lookup use.
SCHEMA = build_schema(SDL)

#: GPU types the stand-in knows (``runpod.create_pod`` looks the type up first and refuses an unknown one).
GPU_TYPES = {
    "NVIDIA GeForce RTX 4090": 24,
    "NVIDIA A100 80GB PCIe": 80,
    "NVIDIA H100 80GB HBM3": 80,
}
#: $/GPU/hour: on demand, and the lowest spot bid RunPod takes.
PRICES = {
    "NVIDIA GeForce RTX 4090": (0.69, 0.35),
    "NVIDIA A100 80GB PCIe": (1.64, 0.82),
    "NVIDIA H100 80GB HBM3": (2.99, 1.5),
}
#: Data centres (a few of RunPod's ids) and the CUDA versions RunPod lets a pod ask for.
DATA_CENTERS = ("EU-RO-1", "US-KS-2", "CA-MTL-1")
CUDA_VERSIONS = ("11.8", "12.0", "12.1", "12.2", "12.3", "12.4", "12.5", "12.6", "12.7", "12.8")


@dataclass
class Recorded:
    """One request as the stand-in received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    #: for GraphQL: the parsed document (``None`` for REST calls or unparsable text)
    document: DocumentNode | None = None

    @property
    def query(self) -> str:
        return str(self.body.get("query", "")) if isinstance(self.body, dict) else ""

    @property
    def operation(self) -> str | None:
        """The first top-level field of a GraphQL request (``podFindAndDeployOnDemand``, ``pod``, ...)."""
        for d in self.document.definitions if self.document is not None else ():
            sel = getattr(d, "selection_set", None)
            if sel is not None and sel.selections:
                return str(sel.selections[0].name.value)
        return None


@dataclass
class StandInPod:
    """A pod the stand-in created; tests move it through RunPod's states."""

    id: str
    input: dict[str, Any]
    mutation: str
    desired_status: str = "RUNNING"
    #: RunPod reports ``runtime`` null until the container has started
    started: bool = False


@dataclass
class RunPodStandIn:
    """The stand-in's state; serve it with :func:`runpod_standin`."""

    api_key: str = field(default_factory=lambda: "rp_" + secrets.token_hex(12))
    url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    pods: dict[str, StandInPod] = field(default_factory=dict)
    #: account secrets: id -> {"name", "value", "description"}
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    #: the next GraphQL call answers with this error message instead (then it is cleared)
    fail_next: str | None = None
    #: the account's network volumes: id -> {"id", "name", "size", "dataCenterId"}
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    # ---- what tests look at
    def graphql_requests(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path == "/graphql"]

    def operations(self) -> list[str]:
        """The top-level field of each GraphQL request received, in order (``podFindAndDeployOnDemand``, ...)."""
        return [op for r in self.graphql_requests() if (op := r.operation) is not None]

    def add_volume(self, name: str, size: int, data_center: str) -> str:
        vid = secrets.token_hex(5)
        with self.lock:
            self.volumes[vid] = {"id": vid, "name": name, "size": size, "dataCenterId": data_center}
        return vid

    def preempt(self, pod_id: str) -> None:
        """RunPod takes a spot pod back: it stops (``EXITED``), its container killed."""
        with self.lock:
            pod = self.pods[pod_id]
            assert pod.mutation == "podRentInterruptable", "only spot pods are preempted"
            pod.desired_status, pod.started = "EXITED", False

    def set_pod_state(self, pod_id: str, desired_status: str, *, started: bool) -> None:
        with self.lock:
            pod = self.pods[pod_id]
            pod.desired_status = desired_status
            pod.started = started

    # ---- resolvers
    def _gpu_types(self, _info: Any, input: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        wanted = (input or {}).get("id")
        out = []
        for gid, mem in GPU_TYPES.items():
            if wanted is None or wanted == gid:
                out.append(
                    {
                        "id": gid,
                        "displayName": gid.replace("NVIDIA ", ""),
                        "manufacturer": "Nvidia",
                        "memoryInGb": mem,
                        "maxGpuCount": 8,
                        "lowestPrice": lambda _i, input=None, gid=gid: {
                            "minimumBidPrice": PRICES[gid][1],
                            "uninterruptablePrice": PRICES[gid][0],
                        },
                    }
                )
        return out

    def _pod_view(self, pod: StandInPod) -> dict[str, Any]:
        inp = pod.input
        return {
            "id": pod.id,
            "name": inp.get("name"),
            "imageName": inp.get("imageName"),
            "dockerArgs": inp.get("dockerArgs"),
            "env": [f"{e['key']}={e['value']}" for e in inp.get("env") or []],
            "gpuCount": inp.get("gpuCount", 0),
            "desiredStatus": pod.desired_status,
            "machineId": "m-" + pod.id,
            "machine": {
                "podHostId": pod.id + "-host",
                "gpuDisplayName": str(inp["gpuTypeId"]).replace("NVIDIA ", "") if inp.get("gpuTypeId") else None,
            },
            "runtime": {"uptimeInSeconds": 1, "ports": []} if pod.started else None,
            "costPerHr": self._cost(pod),
            "podType": "INTERRUPTABLE" if pod.mutation == "podRentInterruptable" else "RESERVED",
            "volumeInGb": inp.get("volumeInGb"),
            "volumeMountPath": inp.get("volumeMountPath"),
        }

    @staticmethod
    def _cost(pod: StandInPod) -> float:
        inp = pod.input
        if pod.mutation == "podRentInterruptable":
            return round(float(inp["bidPerGpu"]) * int(inp.get("gpuCount") or 1), 4)
        if pod.mutation == "deployCpuPod":
            return 0.08
        return round(PRICES[inp["gpuTypeId"]][0] * int(inp.get("gpuCount") or 1), 4)

    def _check_placement(self, input: dict[str, Any]) -> None:
        """What RunPod refuses in a deploy's values (the schema checked the names and types)."""
        center = input.get("dataCenterId")
        if center is not None and center not in DATA_CENTERS:
            raise GraphQLError(f"Invalid data center id: {center}")
        for version in input.get("allowedCudaVersions") or []:
            if version not in CUDA_VERSIONS:
                raise GraphQLError(f"Invalid CUDA version: {version}")
        vid = input.get("networkVolumeId")
        if vid is not None:
            volume = self.volumes.get(vid)
            if volume is None:
                raise GraphQLError(f"Network volume {vid} not found")
            if center is not None and volume["dataCenterId"] != center:
                raise GraphQLError(f"Network volume {vid} is in {volume['dataCenterId']}, not {center}")

    def _deploy(self, mutation: str) -> Any:
        def resolve(_info: Any, input: dict[str, Any]) -> dict[str, Any]:
            if mutation != "deployCpuPod" and input.get("gpuTypeId") not in GPU_TYPES:
                raise GraphQLError("There are no longer any instances available with the requested specifications.")
            if mutation == "podRentInterruptable" and input["bidPerGpu"] < PRICES[input["gpuTypeId"]][1]:
                raise GraphQLError(f"Your bid is below the minimum bid price of ${PRICES[input['gpuTypeId']][1]}/hr")
            self._check_placement(input)
            pod = StandInPod(id=secrets.token_hex(7), input=input, mutation=mutation)
            with self.lock:
                self.pods[pod.id] = pod
            return self._pod_view(pod)

        return resolve

    def _pod(self, _info: Any, input: dict[str, Any]) -> dict[str, Any] | None:
        with self.lock:
            pod = self.pods.get(input["podId"])
        return None if pod is None else self._pod_view(pod)

    def _myself(self, _info: Any) -> dict[str, Any]:
        with self.lock:
            pods = list(self.pods.values())
            volumes = list(self.volumes.values())
        return {"id": "user-1", "pubKey": "", "pods": [self._pod_view(p) for p in pods], "networkVolumes": volumes}

    def _terminate(self, _info: Any, input: dict[str, Any]) -> None:
        with self.lock:
            pod = self.pods.get(input["podId"])
            if pod is None:
                raise GraphQLError("Pod not found")
            # a terminated pod is gone: `pod(...)` answers null afterwards, as RunPod does
            del self.pods[pod.id]

    def _stop(self, _info: Any, input: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            pod = self.pods[input["podId"]]
            pod.desired_status = "EXITED"
        return self._pod_view(pod)

    def answer_graphql(self, query: str) -> dict[str, Any]:
        if self.fail_next is not None:
            message, self.fail_next = self.fail_next, None
            return {"errors": [{"message": message}]}
        root = {
            "gpuTypes": self._gpu_types,
            "pod": self._pod,
            "myself": self._myself,
            "podFindAndDeployOnDemand": self._deploy("podFindAndDeployOnDemand"),
            "podRentInterruptable": self._deploy("podRentInterruptable"),
            "deployCpuPod": self._deploy("deployCpuPod"),
            "podTerminate": self._terminate,
            "podStop": self._stop,
        }
        result = graphql_sync(SCHEMA, query, root_value=root)
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [{"message": e.message} for e in result.errors]
        return out


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _reply(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> Recorded:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        rec = Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        if self.path == "/graphql" and isinstance(body, dict):
            try:
                rec.document = parse(str(body.get("query", "")))
            except GraphQLError:
                rec.document = None
        with self.server.state.lock:
            self.server.state.requests.append(rec)
        return rec

    def _authorized(self, rec: Recorded) -> bool:
        if rec.headers.get("authorization") == f"Bearer {self.server.state.api_key}":
            return True
        self._reply(401, {"error": "Unauthorized"})
        return False

    def do_POST(self) -> None:
        rec = self._record()
        state = self.server.state
        if not self._authorized(rec):
            return
        if self.path == "/graphql":
            if rec.headers.get("content-type") != "application/json" or not isinstance(rec.body, dict):
                self._reply(400, {"errors": [{"message": "Must provide query string."}]})
                return
            if rec.document is not None and (errors := validate(SCHEMA, rec.document)):
                self._reply(400, {"errors": [{"message": e.message} for e in errors]})
                return
            self._reply(200, state.answer_graphql(rec.query))
        elif self.path == "/v2/secrets":
            body = rec.body if isinstance(rec.body, dict) else {}
            name, value = body.get("name"), body.get("value")
            if not isinstance(name, str) or not isinstance(value, str) or not value:
                self._reply(400, {"error": "name and value are required"})
                return
            with state.lock:
                if any(s["name"] == name for s in state.secrets.values()):
                    self._reply(409, {"error": f"a secret named {name} already exists"})
                    return
                sid = secrets.token_hex(8)
                state.secrets[sid] = {"name": name, "value": value, "description": str(body.get("description", ""))}
            self._reply(201, {"id": sid, "name": name, "description": body.get("description", "")})
        else:
            self._reply(404, {"error": "not found"})

    def do_DELETE(self) -> None:
        rec = self._record()
        state = self.server.state
        if not self._authorized(rec):
            return
        prefix = "/v2/secrets/"
        sid = self.path[len(prefix) :] if self.path.startswith(prefix) else ""
        with state.lock:
            found = state.secrets.pop(sid, None)
        if found is None:
            self._reply(404, {"error": "secret not found"})
        else:
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, state: RunPodStandIn) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.state = state


@contextmanager
def runpod_standin() -> Iterator[RunPodStandIn]:
    """Serve a fresh stand-in on a free loopback port; its base URL (for ``RUNPOD_API_BASE_URL``) is ``.url``."""
    state = RunPodStandIn()
    server = _Server(state)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="runpod-standin", daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
