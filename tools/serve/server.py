"""Starts `tritone serve` on a free loopback port for the scripts in this folder."""

import subprocess
import time


class Server:
    """`with Server(tritone, model, *args) as s:` runs the server; `s.url` is its base URL."""

    def __init__(self, tritone, model, *args):
        self.cmd = [tritone, "serve", "--model", model, "--port", "0", *args]

    def __enter__(self):
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        deadline = time.time() + 300
        for line in self.proc.stdout:
            if line.startswith("tritone serve: listening on "):
                self.url = line.split("listening on ", 1)[1].strip()
                self.host, port = self.url.removeprefix("http://").rsplit(":", 1)
                self.port = int(port)
                return self
            if time.time() > deadline:
                break
        self.proc.kill()
        raise RuntimeError(f"{' '.join(self.cmd)} did not start")

    def stop(self, timeout=60):
        """SIGTERM, then the exit status."""
        self.proc.terminate()
        return self.proc.wait(timeout=timeout)

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
