"""Noise floor of end-to-end latency measurement on this machine: the same 40 subnets measured
twice, one pass after the other. No prediction can agree with measurement better than two
measurements agree with each other.

    python benchmarks/latency_retest.py THREADS ROUNDS      # THREADS: a number or 'all'
"""
import sys, time, dataclasses, numpy as np
from ofa.spaces import get_space, sample_subnet
from ofa.devices import get_device
from ofa.latency.measure import measure_subnets
from ofa.latency.validate import kendall_tau
sp = get_space('mbv3-w1.0')
threads = None if sys.argv[1] == 'all' else int(sys.argv[1])
rounds = int(sys.argv[2])
prof = dataclasses.replace(get_device('cpu'), threads=threads, rounds=rounds)
rng = np.random.default_rng(0)
nets = [sample_subnet(sp.restrict(resolutions=[128,160,192,224]), 'uniform', rng) for _ in range(40)]
t=time.time()
a = np.array(measure_subnets(sp, nets, prof, 1000, chunk=20))
b = np.array(measure_subnets(sp, nets, prof, 1000, chunk=20))
rel = np.abs(a-b)/b
print(f"threads={sys.argv[1]} rounds={rounds}: retest tau {kendall_tau(a,b):.3f}, within10 {100*(rel<=0.1).mean():.0f}%, mean rel diff {100*rel.mean():.1f}%, {time.time()-t:.0f}s, range {a.min():.1f}-{a.max():.1f}")
