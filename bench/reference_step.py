#!/usr/bin/python3
"""Median ms per generator step of the reference PyTorch programs (../shared/reference), batch 300.

The reference's own classes and gradient penalty are imported unchanged; torchvision and matplotlib
(only used for downloading MNIST and plotting) are stubbed so the modules import offline. The step
bodies are the reference's loop bodies (GAN: one D + one G update; WGAN-GP/CGAN: 5 critic + 1 G).
Usage: /usr/bin/python3 bench/reference_step.py [--steps N] [--threads T] [--reference DIR]
Prints one JSON line per model: {"model", "ms_median", "steps", "threads"}.
"""
import argparse, importlib.util, json, os, statistics, sys, time, types

def stub_modules():
    tv = types.ModuleType('torchvision'); tv.datasets = types.SimpleNamespace(); tv.transforms = types.SimpleNamespace()
    sys.modules.setdefault('torchvision', tv)
    mpl = types.ModuleType('matplotlib'); plt = types.ModuleType('matplotlib.pyplot'); mpl.pyplot = plt
    sys.modules.setdefault('matplotlib', mpl); sys.modules.setdefault('matplotlib.pyplot', plt)

def load(ref_dir, name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(ref_dir, f'{name}.py'))
    mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod); return mod

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--steps', type=int, default=10)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--reference', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'reference'))
    ap.add_argument('--models', default='gan,cgan')
    a = ap.parse_args()
    stub_modules()
    # OpenBLAS (Debian's libopenblas0-pthread) starts its own threads regardless of torch's setting.
    os.environ['OPENBLAS_NUM_THREADS'] = os.environ['OMP_NUM_THREADS'] = str(a.threads)
    import torch
    import torch.nn as nn
    import torch.optim as optim
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    B, Z = 300, 100
    real = torch.rand(B, 784) * 2 - 1
    labels = torch.randint(0, 10, (B,))
    for model in a.models.split(','):
        if model == 'gan':
            m = load(a.reference, 'gan'); G, D = m.Generator(Z), m.Discriminator()
            oG = optim.Adam(G.parameters(), lr=1e-4); oD = optim.Adam(D.parameters(), lr=4e-5); ce = nn.CrossEntropyLoss()
            def step():
                rl = torch.ones(B, dtype=torch.long); fl = torch.zeros(B, dtype=torch.long)
                fake = G(m.generate_noise(B, Z))
                oD.zero_grad(); loss = ce(D(real), rl) + ce(D(fake.detach()), fl); loss.backward(); oD.step()
                oG.zero_grad(); gl = ce(D(fake), rl); gl.backward(); oG.step()
        else:
            name = {'wgan-gp': 'wgan_gp', 'cgan': 'cgan'}[model]
            m = load(a.reference, name); G, C = m.Generator(), m.Critic()
            oG = optim.Adam(G.parameters(), lr=1e-4, betas=(0, 0.9)); oC = optim.Adam(C.parameters(), lr=1e-4, betas=(0, 0.9))
            cond = model == 'cgan'
            def step():
                for _ in range(5):
                    noise = m.generate_noise(B, Z)
                    fake = G(noise, labels) if cond else G(noise)
                    oC.zero_grad()
                    if cond:
                        cr = C(real, labels).mean(); cf = C(fake.detach(), labels).mean()
                        gp = m.calculate_gradient_penalty(C, real.data, fake.data, labels, 10)
                    else:
                        cr = C(real).mean(); cf = C(fake.detach()).mean()
                        gp = m.calculate_gradient_penalty(C, real.data, fake.data, 10)
                    (cf - cr + gp).backward(); oC.step()
                noise = m.generate_noise(B, Z)
                oG.zero_grad()
                if cond:
                    rl = m.generate_condition(B); gl = -C(G(noise, rl), rl).mean()
                else:
                    gl = -C(G(noise)).mean()
                gl.backward(); oG.step()
        step()  # warm-up
        times = []
        for _ in range(a.steps):
            t0 = time.perf_counter(); step(); times.append((time.perf_counter() - t0) * 1000)
        print(json.dumps({'model': model, 'ms_median': statistics.median(times), 'steps': a.steps, 'threads': a.threads}), flush=True)

if __name__ == '__main__':
    main()
