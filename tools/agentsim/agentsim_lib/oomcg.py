# SPDX-License-Identifier: MIT
"""Memory-limited cgroups for `oom` faults: the kernel's OOM killer ends the agent.

For an `oom` fault the supervisor makes one cgroup per affected instance,
<hierarchy>/agentsim-<supervisor pid>/<pool>-<slot>, with a memory limit and no
swap, moves the agent's pid into it, and has the agent allocate memory without
a cap of its own: the OOM killer then kills it with SIGKILL, as it would a real
agent that outgrew its container.

cgroup v2 at /sys/fs/cgroup is used when its memory controller is there
(enabled in the parents' cgroup.subtree_control as needed); otherwise a cgroup
v1 memory hierarchy at /sys/fs/cgroup/memory (hosts whose memory controller is
still bound to v1).  memory.oom.group is left off: with it the OOM killer would
also pick the agent's tool subprocesses, and one fault would count several OOM
victims instead of one.

Everything here is made by the supervisor's process only and removed when
empty: a cgroup at the end of its fault or when its instance has exited, the
whole agentsim-<pid> folder at the end of the run.  Folders of agentsim runs
that were killed before they could clean up (their pid is gone) are removed at
the next start when they are empty.
"""

import errno
import os
import time

V2_ROOT = "/sys/fs/cgroup"
V1_SUBDIR = "memory"


class Unavailable(Exception):
    """oom faults cannot run on this host; the message (one line) says what is missing."""


def _read(path):
    with open(path, "r", encoding="ascii") as f:
        return f.read()


def _write(path, text):
    with open(path, "w", encoding="ascii") as f:
        f.write(text)


def _why(e):
    return e.strerror or str(e)


def detect(root=V2_ROOT, euid=None):
    """Return ("v2" | "v1", hierarchy path) where oom cgroups can be made, or raise Unavailable.

    root is where cgroup v2 is expected (a v1 memory hierarchy at root/memory is
    the fall-back); euid defaults to this process's.
    """
    if (os.geteuid() if euid is None else euid) != 0:
        raise Unavailable("oom faults need root: agentsim moves the agent into a "
                          "memory-limited cgroup (run agentsim as root)")
    controllers = os.path.join(root, "cgroup.controllers")
    v1 = os.path.join(root, V1_SUBDIR)
    v1_ok = os.path.isfile(os.path.join(v1, "memory.limit_in_bytes"))
    if os.path.isfile(controllers):
        try:
            names = _read(controllers).split()
        except OSError as e:
            raise Unavailable("oom faults: cannot read %s: %s" % (controllers, _why(e)))
        if "memory" in names:
            return "v2", root
        if v1_ok:
            return "v1", v1
        raise Unavailable("oom faults need the cgroup memory controller: %s lists %s" % (
            controllers, " ".join(names) or "no controller"))
    if v1_ok:
        return "v1", v1
    raise Unavailable("oom faults need cgroup v2 with the memory controller at %s (or a "
                      "cgroup v1 memory hierarchy at %s): neither is mounted" % (root, v1))


def cgroup_of(pid, version, proc="/proc"):
    """pid's cgroup in the hierarchy (a path relative to its root, "/" for the root)."""
    for line in _read("%s/%d/cgroup" % (proc, pid)).splitlines():
        num, _, rest = line.partition(":")
        ctrls, _, path = rest.partition(":")
        if version == "v2" and num == "0" and ctrls == "":
            return path or "/"
        if version == "v1" and "memory" in ctrls.split(","):
            return path or "/"
    raise OSError(errno.ENOENT, "pid %d has no %s memory cgroup" % (pid, version))


class Cgroups:
    """The memory-limited cgroups of one supervisor: make, fill, count OOM kills, remove."""

    def __init__(self, version, hierarchy, owner_pid=None):
        self.version = version
        self.hierarchy = hierarchy
        self.owner = os.getpid() if owner_pid is None else owner_pid
        self.base = os.path.join(hierarchy, "agentsim-%d" % self.owner)
        self.pending = set()  # cgroups to remove once empty
        self.made_base = False

    @classmethod
    def open(cls, root=V2_ROOT):
        """Detect the hierarchy and prepare this process's folder; raise Unavailable."""
        version, hierarchy = detect(root)
        cg = cls(version, hierarchy)
        cg.prepare()
        return cg

    def _enable_memory(self, folder):
        ctl = os.path.join(folder, "cgroup.subtree_control")
        try:
            if "memory" in _read(ctl).split():
                return
            _write(ctl, "+memory")
        except OSError as e:
            raise Unavailable("oom faults: cannot enable the memory controller in %s: %s" % (
                ctl, _why(e)))

    def prepare(self):
        """Make the agentsim-<pid> folder and check a child of it gets a memory limit."""
        self.remove_stale()
        if self.version == "v2":
            self._enable_memory(self.hierarchy)
        try:
            os.mkdir(self.base, 0o755)
            self.made_base = True
        except FileExistsError:
            self.made_base = True
        except OSError as e:
            raise Unavailable("oom faults: cannot create %s: %s" % (self.base, _why(e)))
        try:
            if self.version == "v2":
                self._enable_memory(self.base)
            probe = os.path.join(self.base, "probe")
            try:
                os.mkdir(probe)
            except FileExistsError:
                pass
            except OSError as e:
                raise Unavailable("oom faults: cannot create %s: %s" % (probe, _why(e)))
            limit = os.path.join(probe, self._limit_file())
            present = os.path.isfile(limit)
            self.remove(probe)
            if not present:
                raise Unavailable("oom faults: %s has no %s: the memory controller is not "
                                  "available there" % (probe, self._limit_file()))
        except Unavailable:
            self.close(wait_s=0)
            raise

    def _limit_file(self):
        return "memory.max" if self.version == "v2" else "memory.limit_in_bytes"

    def remove_stale(self):
        """Remove empty agentsim-<pid> folders of agentsim runs that no longer exist."""
        try:
            names = os.listdir(self.hierarchy)
        except OSError:
            return
        for name in names:
            if not name.startswith("agentsim-") or not name[9:].isdigit():
                continue
            pid = int(name[9:])
            if pid == self.owner or _alive(pid):
                continue
            folder = os.path.join(self.hierarchy, name)
            try:
                children = [c for c in os.listdir(folder)
                            if os.path.isdir(os.path.join(folder, c))]
            except OSError:
                continue
            for child in children:
                _rmdir(os.path.join(folder, child))
            _rmdir(folder)

    def make(self, name, limit_mb):
        """Make (or reuse) the cgroup `name` limited to limit_mb MiB without swap; return it."""
        path = os.path.join(self.base, name)
        try:
            os.mkdir(path, 0o755)
        except FileExistsError:
            pass
        self.pending.discard(path)
        limit = str(int(float(limit_mb) * 1024 * 1024))
        if self.version == "v2":
            _write(os.path.join(path, "memory.max"), limit)
            swap = os.path.join(path, "memory.swap.max")
            if os.path.exists(swap):
                _write(swap, "0")
        else:
            _write(os.path.join(path, "memory.limit_in_bytes"), limit)
            # Memory plus swap no larger than memory: nothing is swapped out.
            memsw = os.path.join(path, "memory.memsw.limit_in_bytes")
            if os.path.exists(memsw):
                _write(memsw, limit)
            try:
                _write(os.path.join(path, "memory.swappiness"), "0")
            except OSError:
                pass
        return path

    def move(self, path, pid):
        """Move pid into the cgroup at path (absolute, or relative to the hierarchy)."""
        if not os.path.isabs(path) or not path.startswith(self.hierarchy + os.sep):
            path = os.path.join(self.hierarchy, path.lstrip("/"))
        _write(os.path.join(path, "cgroup.procs"), str(pid))

    def oom_kills(self, path):
        """OOM kills counted in the cgroup so far, or None when the kernel does not say."""
        name = "memory.events" if self.version == "v2" else "memory.oom_control"
        try:
            text = _read(os.path.join(path, name))
        except OSError:
            return None
        for line in text.splitlines():
            key, _, val = line.partition(" ")
            if key == "oom_kill":
                try:
                    return int(val)
                except ValueError:
                    return None
        return None

    def remove(self, path):
        """Remove the cgroup now if it is empty, else later (sweep); True once it is gone."""
        if _rmdir(path):
            self.pending.discard(path)
            return True
        self.pending.add(path)
        return False

    def sweep(self):
        """Try again to remove the cgroups that were not empty yet."""
        for path in list(self.pending):
            if _rmdir(path):
                self.pending.discard(path)

    def close(self, wait_s=3.0):
        """Remove every cgroup made here and the agentsim-<pid> folder; False if one stays."""
        end = time.monotonic() + wait_s
        try:
            for name in os.listdir(self.base):
                if os.path.isdir(os.path.join(self.base, name)):
                    self.pending.add(os.path.join(self.base, name))
        except OSError:
            pass
        while True:
            self.sweep()
            gone = not self.pending and (not self.made_base or _rmdir(self.base))
            if gone or time.monotonic() >= end:
                break
            time.sleep(0.05)
        if gone:
            self.made_base = False
        return gone


def _rmdir(path):
    """rmdir that reports whether the folder is gone (it never was counts)."""
    try:
        os.rmdir(path)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
