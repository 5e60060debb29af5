// deploy/: Docker and Kubernetes are not on this machine, so this checks what can be checked here:
// the container's CMD (run as written, in a folder laid out like the image's /app) and HEALTHCHECK
// against the real server, and the manifests parsed as YAML with the fields they need, consistent
// with the Dockerfile and each other.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './helpers/cli.js';
import { tempDir } from './helpers/temp-dir.js';

const DEPLOY = path.join(ROOT, 'deploy');
const work = tempDir('onnxgan-deploy-');

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerfile(): Instruction[] {
  const text = readFileSync(path.join(DEPLOY, 'Dockerfile'), 'utf8').replace(/\\\n\s*/g, ' ');
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'))
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** The final stage's instructions. */
const finalStage = (all: Instruction[]): Instruction[] => all.slice(all.findLastIndex((i) => i.op === 'FROM'));
const execForm = (args: string): string[] => JSON.parse(args.replace(/^CMD\s+/, '')) as string[];

describe('deploy/Dockerfile', () => {
  const all = dockerfile();
  const final = finalStage(all);
  const cmd = execForm(final.find((i) => i.op === 'CMD')!.args);
  const health = final.find((i) => i.op === 'HEALTHCHECK')!.args;
  const healthCmd = execForm(health.slice(health.indexOf('CMD')));

  it('is multi-stage, runs as a non-root user, and exposes the port its command serves on', () => {
    expect(all.filter((i) => i.op === 'FROM').length).toBeGreaterThanOrEqual(2);
    expect(final.some((i) => i.op === 'COPY' && i.args.startsWith('--from='))).toBe(true);
    const user = final.findLast((i) => i.op === 'USER')?.args;
    expect(user).toBeDefined();
    expect(['root', '0']).not.toContain(user);
    const port = cmd[cmd.indexOf('--port') + 1];
    expect(final.find((i) => i.op === 'EXPOSE')?.args).toBe(port);
    expect(cmd.slice(0, 3)).toEqual(['node', 'dist/cli.js', 'serve']);
    expect(health).toMatch(/--interval=\S+ .*CMD/);
    expect(healthCmd.join(' ')).toContain('/readyz');
  });

  it('its CMD serves, its HEALTHCHECK passes while ready and fails once stopped', async () => {
    // The image's /app: the built server, its dependencies, the demo page and the models.
    const app = path.join(work, 'app');
    mkdirSync(path.join(app, 'models'), { recursive: true });
    copyFileSync(path.join(ROOT, 'package.json'), path.join(app, 'package.json'));
    for (const d of ['dist', 'node_modules', 'web-demo']) symlinkSync(path.join(ROOT, d), path.join(app, d));
    copyFileSync(path.join(ROOT, 'models/gan.onnx'), path.join(app, 'models/gan.onnx'));
    // Exactly the CMD, with one change: any free port instead of 8080 (a later --port wins).
    const child = spawn(process.execPath, [...cmd.slice(1), '--port', '0'], { cwd: app, env: { ...process.env, NODE_ENV: 'production' } });
    let log = '';
    child.stdout.on('data', (c: Buffer) => (log += c));
    child.stderr.on('data', (c: Buffer) => (log += c));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const port = await new Promise<string>((resolve, reject) => {
        const poll = setInterval(() => {
          // --workers auto: the primary says "listening" once every worker serves.
          const m = /"url":"http:\/\/[^"]+:(\d+)","workers":\d+,.*"msg":"listening"/.exec(log);
          if (m) {
            clearInterval(poll);
            resolve(m[1]!);
          }
        }, 50);
        void exited.then(() => reject(new Error(`the CMD exited:\n${log}`)));
      });
      const base = `http://127.0.0.1:${port}`;
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const png = await fetch(`${base}/v1/models/gan/generate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"format":"png"}',
      });
      expect(png.status).toBe(200);
      const check = (): number | null =>
        spawnSync(process.execPath, healthCmd.slice(1), { env: { ...process.env, PORT: port }, timeout: 10_000 }).status;
      expect(check()).toBe(0);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(check()).toBe(1);
    } finally {
      child.kill('SIGKILL');
    }
  });
});

describe('deploy/kubernetes and deploy/kserve manifests', () => {
  const docs = (file: string) =>
    parseAllDocuments(readFileSync(path.join(DEPLOY, file), 'utf8')).map((d) => {
      expect(d.errors, file).toEqual([]);
      return d.toJS();
    });
  const k8s = docs('kubernetes/onnxgan.yaml');
  const byKind = Object.fromEntries(k8s.map((d) => [d.kind, d]));
  const cmd = execForm(finalStage(dockerfile()).find((i) => i.op === 'CMD')!.args);

  it('a Deployment with readiness and liveness probes on the server, running the image as built', () => {
    expect(Object.keys(byKind).sort()).toEqual(['Deployment', 'HorizontalPodAutoscaler', 'Service']);
    const d = byKind.Deployment;
    expect(d.apiVersion).toBe('apps/v1');
    const pod = d.spec.template;
    expect(pod.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
    const [c] = pod.spec.containers;
    // No command or args: the container runs the Dockerfile's CMD, the command tested above.
    expect(c.command).toBeUndefined();
    expect(c.args).toBeUndefined();
    const http = c.ports.find((p: { name: string }) => p.name === 'http');
    expect(String(http.containerPort)).toBe(cmd[cmd.indexOf('--port') + 1]);
    expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http' });
    expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http' });
    expect(c.resources.requests.cpu).toBeDefined(); // the HPA's utilisation is relative to it
    expect(pod.spec.securityContext.runAsNonRoot).toBe(true);
    // Long enough for the preStop pause plus the server's 10 s drain.
    expect(pod.spec.terminationGracePeriodSeconds).toBeGreaterThan(15);
  });

  it('a Service to the pods and an autoscaler for the Deployment', () => {
    const { Service: svc, HorizontalPodAutoscaler: hpa, Deployment: d } = byKind;
    expect(svc.spec.selector).toEqual(d.spec.template.metadata.labels);
    expect(svc.spec.ports[0].targetPort).toBe('http');
    expect(hpa.apiVersion).toBe('autoscaling/v2');
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: d.metadata.name });
    expect(hpa.spec.minReplicas).toBeLessThanOrEqual(hpa.spec.maxReplicas);
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
  });

  it('a KServe InferenceService that runs Triton on the repository of `onnxgan triton`', () => {
    const [isvc] = docs('kserve/inferenceservice.yaml');
    expect(isvc.apiVersion).toBe('serving.kserve.io/v1beta1');
    expect(isvc.kind).toBe('InferenceService');
    expect(isvc.spec.predictor.model.modelFormat).toEqual({ name: 'triton' });
    expect(isvc.spec.predictor.model.protocolVersion).toBe('v2');
    expect(isvc.spec.predictor.model.storageUri).toMatch(/^[a-z0-9]+:\/\//);
  });
});
