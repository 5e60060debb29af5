#!/usr/bin/python3
"""PyTorch peer of onnxgan's dcgan step: median ms per generator step, and per-layer conv timings.

The architecture of `onnxgan train --arch dcgan` at 28x28 (train/models.ts), layer for layer:
  generator: noise [Z] (cgan: + label embedding [E=32], concatenated) -> Linear -> reshape [g0, H/4, W/4]
             -> BatchNorm2d -> ReLU -> ConvTranspose2d(g0->g1, k4 s2 p1) -> BatchNorm2d -> ReLU
             -> ConvTranspose2d(g1->g2, k4 s2 p1) -> BatchNorm2d -> ReLU -> Conv2d(g2->C, k3 s1 p1) -> tanh
  critic:    image [C, H, W] -> Conv2d(C->c0, k4 s2 p1) -> LeakyReLU(0.2) -> Conv2d(c0->c1, k4 s2 p1)
             -> [--layer-norm: LayerNorm([c1, H/4, W/4])] -> LeakyReLU(0.2) -> flatten -> Linear
             -> gan: 2 logits (softmax cross-entropy, as our gan); wgan-gp: 1; cgan: 1 + a projection
             <embed(label), features> (layers/label-projection.ts)
  steps:     gan one D + one G update (Adam (0.5, 0.999)); wgan-gp and cgan 5 critic updates with the
             gradient penalty (lambda 10) + one G update (Adam 1e-4 (0, 0.9)).
Usage: /usr/bin/python3 bench/dcgan_step.py [--models gan,wgan-gp,cgan] [--batch 64] [--steps 10]
         [--threads 1] [--image 1,28,28] [--gen-channels 64,32,16] [--critic-channels 32,64] [--layer-norm]
       /usr/bin/python3 bench/dcgan_step.py --kernels '[{"name":..,"n":..,"h":..,"w":..,"c":..,"o":..,"k":..,"s":..,"p":..,"transpose":false}]'
Prints one JSON line per model ({"model", "ms_median", ...}) or per layer ({"name", "ms_forward", "ms_backward"}).
"""
import argparse, json, os, statistics, time


def ints(s):
    return [int(v) for v in s.split(',')]


def median_ms(fn, reps):
    fn()  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter(); fn(); times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def build(torch, nn, a, model, layer_norm):
    conditional = model == 'cgan'
    outputs = 2 if model == 'gan' else 1
    C, H, W = a.image
    g0, g1, g2 = a.gen_channels
    c0, c1 = a.critic_channels
    h4, w4 = H // 4, W // 4
    Z, E, K = a.noise, a.embed, 10

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Embedding(K, E) if conditional else None
            self.fc = nn.Linear(Z + (E if conditional else 0), g0 * h4 * w4)
            self.conv = nn.Sequential(
                nn.BatchNorm2d(g0), nn.ReLU(),
                nn.ConvTranspose2d(g0, g1, 4, 2, 1), nn.BatchNorm2d(g1), nn.ReLU(),
                nn.ConvTranspose2d(g1, g2, 4, 2, 1), nn.BatchNorm2d(g2), nn.ReLU(),
                nn.Conv2d(g2, C, 3, 1, 1), nn.Tanh())

        def forward(self, z, y=None):
            h = torch.cat([z, self.embed(y)], 1) if conditional else z
            return self.conv(self.fc(h).view(-1, g0, h4, w4))

    class Critic(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [nn.Conv2d(C, c0, 4, 2, 1), nn.LeakyReLU(0.2), nn.Conv2d(c0, c1, 4, 2, 1)]
            if layer_norm:
                layers.append(nn.LayerNorm([c1, h4, w4]))
            layers.append(nn.LeakyReLU(0.2))
            self.features = nn.Sequential(*layers, nn.Flatten())
            self.out = nn.Linear(c1 * h4 * w4, outputs)
            self.project = nn.Embedding(K, c1 * h4 * w4) if conditional else None

        def forward(self, x, y=None):
            f = self.features(x)
            o = self.out(f)
            o = o if outputs == 2 else o.squeeze(1)
            return o + (self.project(y) * f).sum(1) if conditional else o

    return Generator(), Critic()


def step_fn(torch, nn, a, model):
    conditional = model == 'cgan'
    G, D = build(torch, nn, a, model, layer_norm=a.layer_norm)
    B, Z = a.batch, a.noise
    real = torch.rand(B, *a.image) * 2 - 1
    labels = torch.randint(0, 10, (B,))
    if model == 'gan':
        oG = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999)); oD = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        ce = nn.CrossEntropyLoss(); ones = torch.ones(B, dtype=torch.long); zeros = torch.zeros(B, dtype=torch.long)

        def step():
            fake = G(torch.randn(B, Z))
            oD.zero_grad(); (ce(D(real), ones) + ce(D(fake.detach()), zeros)).backward(); oD.step()
            oG.zero_grad(); ce(D(fake), ones).backward(); oG.step()
        return step
    oG = torch.optim.Adam(G.parameters(), lr=1e-4, betas=(0, 0.9)); oC = torch.optim.Adam(D.parameters(), lr=1e-4, betas=(0, 0.9))
    y = labels if conditional else None

    def penalty(fake):
        e = torch.rand(B, 1, 1, 1)
        mix = (e * real + (1 - e) * fake).requires_grad_(True)
        g, = torch.autograd.grad(D(mix, y).sum(), mix, create_graph=True)
        return 10 * ((g.flatten(1).norm(2, dim=1) - 1) ** 2).mean()

    def step():
        for _ in range(5):
            fake = G(torch.randn(B, Z), y).detach()
            oC.zero_grad(); (D(fake, y).mean() - D(real, y).mean() + penalty(fake)).backward(); oC.step()
        oG.zero_grad(); (-D(G(torch.randn(B, Z), y), y).mean()).backward(); oG.step()
    return step


def kernels(torch, layers, reps):
    F = torch.nn.functional
    for l in layers:
        if l['transpose']:  # ConvTranspose2d of x [n, c, h, w] to o channels
            x = torch.randn(l['n'], l['c'], l['h'], l['w'], requires_grad=True)
            w = torch.randn(l['c'], l['o'], l['k'], l['k'], requires_grad=True)
            fwd = lambda: F.conv_transpose2d(x, w, None, l['s'], l['p'])
        else:
            x = torch.randn(l['n'], l['c'], l['h'], l['w'], requires_grad=True)
            w = torch.randn(l['o'], l['c'], l['k'], l['k'], requires_grad=True)
            fwd = lambda: F.conv2d(x, w, None, l['s'], l['p'])
        with torch.no_grad():
            ms_f = median_ms(fwd, reps)
        y = fwd()
        dy = torch.randn_like(y)
        ms_b = median_ms(lambda: torch.autograd.grad(y, [x, w], dy, retain_graph=True), reps)
        print(json.dumps({'name': l['name'], 'ms_forward': ms_f, 'ms_backward': ms_b}), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--models', default='gan,wgan-gp,cgan')
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--image', type=ints, default=[1, 28, 28])
    ap.add_argument('--noise', type=int, default=100)
    ap.add_argument('--embed', type=int, default=32)
    ap.add_argument('--layer-norm', action='store_true', help='a LayerNorm after the last critic conv (not in --arch dcgan)')
    ap.add_argument('--gen-channels', type=ints, default=[64, 32, 16])
    ap.add_argument('--critic-channels', type=ints, default=[32, 64])
    ap.add_argument('--kernels', help='JSON list of conv layers to time alone (see bench/conv-kernels.ts)')
    a = ap.parse_args()
    # OpenBLAS (Debian's libopenblas0-pthread) starts its own threads regardless of torch's setting.
    os.environ['OPENBLAS_NUM_THREADS'] = os.environ['OMP_NUM_THREADS'] = str(a.threads)
    import torch
    import torch.nn as nn
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.kernels:
        return kernels(torch, json.loads(a.kernels), a.steps)
    for model in a.models.split(','):
        ms = median_ms(step_fn(torch, nn, a, model), a.steps)
        print(json.dumps({'model': model, 'ms_median': ms, 'steps': a.steps, 'threads': a.threads, 'batch': a.batch,
                          'image': a.image, 'gen_channels': a.gen_channels, 'critic_channels': a.critic_channels}), flush=True)


if __name__ == '__main__':
    main()
