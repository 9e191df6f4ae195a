# SPDX-License-Identifier: MIT
"""agentsim: a multi-agent workload and mock LLM API for swarmwatch.

The package is split by what each module does:

  sampling    seeded random draws (ranges, latency distributions)
  scenario    scenario files: loading, validation, timeline, effective settings
  httpbase    the threaded loopback HTTP(S) server both mock servers build on
  tlscert     self-signed certificate generation with the openssl CLI
  llmserver   the mock OpenAI-style chat-completions API
  toolserver  the mock tool API agents call between LLM calls
  control     the scaling webhook / status endpoint and its client
  groundtruth the JSON-lines ground-truth log
  oomcg       the memory-limited cgroups of oom faults (real OOM kills)
  supervisor  pools of agent processes and the run's event loop
  agent       the agent process itself
  cli         the command line
"""

VERSION = "0.1.0"
