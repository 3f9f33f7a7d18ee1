import { describe, expect, it } from "vitest";
import type { ProviderCapabilities } from "./api";
import { allowedBy, buildLaunch, parseDuration, parseEnv, parseMemory, type FormFields } from "./form";

const CAPS: ProviderCapabilities = {
  gpus: true,
  gpu_types: ["A100"],
  cpus: true,
  memory: true,
  time_limit: true,
  image: false,
  cwd: true,
  native_logs: true,
};

const base: FormFields = {
  provider: "local",
  argv: ["python", "train.py"],
  envText: "",
  secrets: [],
  cwd: "",
  cpus: "",
  gpus: "",
  gpuType: "",
  memory: "",
  timeLimit: "",
  image: "",
  name: "",
  project: "",
  configText: "",
  resumeFrom: "",
  rpVolumeId: "",
  rpVolumeSize: "",
  rpMountPath: "",
  rpInterruptible: false,
  rpBid: "",
  rpDataCenter: "",
  rpCuda: "",
};

describe("launch form", () => {
  it("parses environment lines and says which line is wrong", () => {
    expect(parseEnv("A=1\n# c\n\nHF_HOME=/x=y")).toEqual({ env: { A: "1", HF_HOME: "/x=y" }, error: null });
    expect(parseEnv("A=1\nnot a var").error).toBe("line 2: expected NAME=value");
    expect(parseEnv("A=1\nA=2").error).toBe("line 2: A is set twice");
  });

  it("matches the allowlist's shell patterns", () => {
    const ok = allowedBy(["HF_*", "SEED", "CUDA_VISIBLE_DEVICES"]);
    expect(["HF_HOME", "SEED", "CUDA_VISIBLE_DEVICES"].every(ok)).toBe(true);
    expect(ok("SEEDS")).toBe(false);
    expect(ok("LD_PRELOAD")).toBe(false);
  });

  it("reads durations and memory sizes", () => {
    expect(parseDuration("90")).toBe(5400);
    expect(parseDuration("1h30m")).toBe(5400);
    expect(parseDuration("2h")).toBe(7200);
    expect(parseDuration("2 hours")).toBeNull();
    expect(parseMemory("16G")).toBe(16384);
    expect(parseMemory("512M")).toBe(512);
    expect(parseMemory("lots")).toBeNull();
  });

  it("builds the body with only what the provider supports", () => {
    const { body, errors } = buildLaunch(
      { ...base, envText: "HF_HOME=/data", secrets: [{ name: "WANDB_API_KEY", value: "s3cret" }], gpus: "2", gpuType: "A100", memory: "8G", timeLimit: "2h", image: "img", configText: '{"lr": 0.001}' },
      CAPS,
      ["HF_*"],
    );
    expect(errors).toEqual({});
    expect(body).toEqual({
      provider: "local",
      argv: ["python", "train.py"],
      env: { HF_HOME: "/data" },
      secrets: { WANDB_API_KEY: "s3cret" },
      cwd: null,
      resources: { gpus: 2, gpu_type: "A100", memory_mb: 8192, time_limit: 7200 },
      image: null,
      name: null,
      project: "default",
      config: { lr: 0.001 },
    });
  });

  it("refuses what the server would refuse, naming the field", () => {
    const { body, errors } = buildLaunch(
      { ...base, argv: [], envText: "LD_PRELOAD=/x.so", configText: "[1]", gpus: "1.5", timeLimit: "soon" },
      CAPS,
      ["HF_*"],
    );
    expect(body).toBeNull();
    expect(errors.argv).toBe("enter the command to run");
    expect(errors.envText).toMatch(/not in the server's allowlist: LD_PRELOAD/);
    expect(errors.configText).toBe("config must be a JSON object");
    expect(errors.gpus).toBe("GPUs must be a whole number");
    expect(errors.timeLimit).toMatch(/duration/);
    expect(errors.image).toBeUndefined(); // this provider runs no images
    expect(buildLaunch(base, { ...CAPS, image: true }, []).errors.image).toMatch(/container image/);
  });

  it("leaves the image out when the provider has a default image", () => {
    const { body, errors } = buildLaunch(base, { ...CAPS, image: true, default_image: "img:1" }, []);
    expect(errors.image).toBeUndefined();
    expect(body?.image).toBeNull(); // the server runs its default
    expect(buildLaunch({ ...base, image: " mine:2 " }, { ...CAPS, image: true, default_image: "img:1" }, []).body?.image).toBe("mine:2");
  });

  it("sends only the RunPod options filled in, and names a malformed one", () => {
    const rp: ProviderCapabilities = { ...CAPS, image: true, default_image: "img", options: ["volume", "interruptible"] };
    const { body } = buildLaunch(
      { ...base, provider: "runpod", rpVolumeId: "vol_1", rpMountPath: "/vol", rpInterruptible: true, rpBid: "0.4", rpCuda: "12.4, 12.6" },
      rp,
      [],
    );
    expect(body?.runpod).toEqual({
      volume: { id: "vol_1", mount_path: "/vol" },
      interruptible: true,
      bid_per_gpu: 0.4,
      cuda_versions: ["12.4", "12.6"],
    });
    expect(buildLaunch({ ...base, provider: "runpod" }, rp, []).body?.runpod).toBeUndefined();
    const bad = buildLaunch({ ...base, provider: "runpod", rpCuda: "twelve", rpMountPath: "vol" }, rp, []);
    expect(bad.body).toBeNull();
    expect(bad.errors.rpCuda).toBe('"twelve" is not a CUDA version like 12.4');
    expect(bad.errors.rpMountPath).toBe("an absolute path like /workspace");
    // a provider without options never gets them, whatever the fields hold
    expect(buildLaunch({ ...base, rpInterruptible: true }, CAPS, []).body?.runpod).toBeUndefined();
  });

  it("asks to resume from a run only when the box is checked", () => {
    expect(buildLaunch({ ...base, resumeFrom: "r-1" }, CAPS, []).body?.resume_from).toBe("r-1");
    expect(buildLaunch(base, CAPS, []).body?.resume_from).toBeUndefined();
  });
});
