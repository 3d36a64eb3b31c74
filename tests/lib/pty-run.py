#!/usr/bin/env python3
"""pty-run.py ROWS COLS INPUT ARGV...: run ARGV as the session leader of a new pty
of ROWS x COLS, type INPUT, copy everything the terminal shows to stdout, and
exit with ARGV's status (128+N when killed by signal N).
With PTY_RESIZE="FILE ROWS COLS" in the environment, the window is resized to
ROWS x COLS (the kernel sends SIGWINCH) once FILE exists.  With PTY_STEPS, a
JSON list of [TEXT, INPUT] or [TEXT, INPUT, ROWS, COLS], each INPUT is typed
once the screen shows its TEXT after what the step before typed ("": 0.3 s after
the step before), the window resized to ROWS x COLS first when given; INPUT is
then typed as the last step."""
import fcntl, json, os, select, struct, sys, termios, time

rows, cols, text, argv = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4:]
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
pid = os.fork()
if pid == 0:
    os.close(master)
    os.setsid()
    fcntl.ioctl(slave, termios.TIOCSCTTY, 0)
    for fd in (0, 1, 2):
        os.dup2(slave, fd)
    if slave > 2:
        os.close(slave)
    try:
        os.execvp(argv[0], argv)
    except OSError as e:
        os.write(2, f"pty-run: {argv[0]}: {e}\n".encode())
        os._exit(127)
os.close(slave)
resize = os.environ.get("PTY_RESIZE", "").split()
steps = [(s[0].encode(), s[1].encode(), s[2:]) for s in json.loads(os.environ.get("PTY_STEPS", "[]"))]
if text:
    steps.append((b"", text.encode(), []))
started = time.time()
typed_at = 0
out = bytearray()
status = None
exited_at = 0.0
deadline = time.time() + 25
while time.time() < deadline:
    if steps and (steps[0][0] in out[typed_at:] if steps[0][0] else time.time() - started > 0.3):
        typed_at, started = len(out), time.time()
        _, typed, size = steps.pop(0)
        if size:
            fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", size[0], size[1], 0, 0))
            time.sleep(0.2)  # SIGWINCH reaches the client, which passes the size on
        os.write(master, typed)
    if resize and os.path.exists(resize[0]):
        fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", int(resize[1]), int(resize[2]), 0, 0))
        resize = []
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every slave fd closed
            data = b""
        if not data:
            if status is None:
                status = os.waitpid(pid, 0)[1]
            break
        out += data
    elif status is None:
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status, exited_at = st, time.time()
    elif time.time() - exited_at > 0.5:  # child gone, nothing more to read
        break
if status is None:
    status = os.waitpid(pid, 0)[1]
sys.stdout.buffer.write(bytes(out))
sys.stdout.flush()
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
