"""Git repositories served by `git daemon` on 127.0.0.1, as Argo CD would reach a Git host."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from awsorg_devbase import ManagedProcess, free_ports

_GIT_DAEMON = Path("/usr/lib/git-core/git-daemon")
_IDENTITY = ("-c", "user.name=awsorg tests", "-c", "user.email=tests@awsorg.invalid")


def git(*args: str, cwd: Path) -> str:
    done = subprocess.run(
        ["git", *_IDENTITY, *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"git {' '.join(args)} failed in {cwd}:\n{done.stderr}")
    return done.stdout


class GitServer:
    """`git daemon` exporting every bare repository under `root`, read-only (pushes go
    through the file system, as to any Git host's storage)."""

    def __init__(self, root: Path, log_path: Path) -> None:
        self.root = root
        (self.port,) = free_ports(1)
        daemon = str(_GIT_DAEMON if _GIT_DAEMON.exists() else "git-daemon")
        argv = [daemon, "--export-all", f"--base-path={root}", "--listen=127.0.0.1"]
        argv += [f"--port={self.port}", "--reuseaddr", str(root)]
        self.process = ManagedProcess("git-daemon", argv, log_path)

    def url(self, name: str) -> str:
        return f"git://127.0.0.1:{self.port}/{name}.git"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.process.start()

    def stop(self) -> None:
        self.process.stop()


class LocalGitRepo:
    """A bare repository under a GitServer and a working copy to commit and push from,
    on branch `main`."""

    def __init__(self, server: GitServer, name: str, workdir: Path) -> None:
        self.url = server.url(name)
        self.bare = server.root / f"{name}.git"
        self.worktree = workdir
        git("init", "--bare", "--initial-branch=main", str(self.bare), cwd=server.root)
        self.worktree.mkdir(parents=True)
        git("init", "--initial-branch=main", cwd=self.worktree)
        git("remote", "add", "origin", str(self.bare), cwd=self.worktree)

    def copy_in(self, source: Path, dest: str) -> None:
        """Copies a file or folder to `dest` (a path inside the repository)."""
        target = self.worktree / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            shutil.copy2(source, target)

    def write(self, dest: str, text: str) -> None:
        target = self.worktree / dest
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)

    def read(self, path: str) -> str:
        return (self.worktree / path).read_text()

    def commit_and_push(self, message: str) -> str:
        """Commits everything and pushes `main`; returns the new commit's SHA."""
        git("add", "--all", cwd=self.worktree)
        git("commit", "--quiet", "--allow-empty", "-m", message, cwd=self.worktree)
        git("push", "--quiet", "origin", "main", cwd=self.worktree)
        return git("rev-parse", "HEAD", cwd=self.worktree).strip()
