"""Scripted checks of `mmeureka kernel` through jupyter_client, with timings:
start to first kernel_info_reply, interrupt of a long cell (a loop, a blocking wait, a call that never checks),
SIGINT, and shutdown. Prints one line per measurement; exits 1 when a check fails.
Targets (issue 15): kernel_info_reply under 2 s after start; control back within 1 s after an interrupt (reported;
enforced only with MMEUREKA_KERNEL_STRICT_TIMING=1, since they depend on the machine's load).
"""
import os
import queue
import signal
import statistics
import sys
import time

from jupyter_client.manager import KernelManager

KERNEL = os.environ.get("MMEUREKA_KERNEL_NAME", "mmeureka-csharp")
failures = []
# Timings depend on the machine's load (CI shares cores): they are printed and compared with the targets, and fail
# the run only with MMEUREKA_KERNEL_STRICT_TIMING=1.
STRICT_TIMING = os.environ.get("MMEUREKA_KERNEL_STRICT_TIMING") == "1"


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    if not ok:
        failures.append(what)


def target(ok, what):
    if STRICT_TIMING:
        check(ok, what)
    else:
        print(("met    " if ok else "MISSED ") + what + " (target; not enforced)", flush=True)


def start():
    """Starts a kernel; returns (manager, client, seconds from launch to the first kernel_info_reply)."""
    km = KernelManager(kernel_name=KERNEL)
    t0 = time.perf_counter()
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    msg_id = kc.kernel_info()  # queued by ZeroMQ until the kernel's socket is bound
    while True:
        reply = kc.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            return km, kc, time.perf_counter() - t0


def execute(kc, code, timeout=120):
    """Runs a cell; returns (reply content, iopub messages of this request up to idle)."""
    msg_id = kc.execute(code)
    reply = None
    while reply is None:
        m = kc.get_shell_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") == msg_id:
            reply = m["content"]
    msgs = []
    while True:
        m = kc.get_iopub_msg(timeout=timeout)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            return reply, msgs
        msgs.append(m)


def interrupt_after_start(km, kc, code, how):
    """Starts `code` (which first prints 'started'), interrupts it once running, returns (reply, seconds to reply)."""
    msg_id = kc.execute('Console.WriteLine("started");\n' + code)
    while True:
        m = kc.get_iopub_msg(timeout=120)
        if m["parent_header"].get("msg_id") == msg_id and m["msg_type"] == "stream":
            break
    time.sleep(0.5)  # let it get deep into the long part
    t0 = time.perf_counter()
    if how == "message":
        km.interrupt_kernel()  # interrupt_mode "message": an interrupt_request on the control channel
    else:
        km.signal_kernel(signal.SIGINT)
    while True:
        m = kc.get_shell_msg(timeout=120)
        if m["parent_header"].get("msg_id") == msg_id:
            return m["content"], time.perf_counter() - t0


def main():
    starts = []
    for _ in range(3):
        km, kc, seconds = start()
        starts.append(seconds)
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(f"start to first kernel_info_reply: {', '.join(f'{s:.2f}' for s in starts)} s (median {statistics.median(starts):.2f} s; load {os.getloadavg()[0]:.1f})")
    target(statistics.median(starts) < 2.0, "kernel_info_reply within 2 s of start (median of 3)")

    km, kc, _ = start()
    pid = km.provisioner.process.pid
    reply, _ = execute(kc, "var kept = 41;")
    check(reply["status"] == "ok", "first cell runs")

    cases = [
        ("a loop in the cell", "long n = 0; while (true) { n++; }", "message"),
        ("a blocking wait", "System.Threading.Thread.Sleep(600_000);", "message"),
        ("a library call that never checks", "Enumerable.Range(0, int.MaxValue).Select(i => (long)i).Sum()", "message"),
        ("a loop, by SIGINT", "while (true) { }", "signal"),
    ]
    for name, code, how in cases:
        reply, seconds = interrupt_after_start(km, kc, code, how)
        interrupted = reply["status"] == "error" and reply.get("ename") == "Interrupted"
        print(f"interrupt ({how}) of {name}: execute_reply after {seconds:.3f} s: {reply.get('ename')}: {reply.get('evalue', '')[:110]}")
        check(interrupted, f"{name}: reply is an Interrupted error")
        target(seconds < 1.0, f"{name}: control back within 1 s ({seconds:.3f} s)")
        after, msgs = execute(kc, "kept + 1")
        result = [m["content"]["data"]["text/plain"] for m in msgs if m["msg_type"] == "execute_result"]
        check(after["status"] == "ok" and result == ["42"], f"{name}: the kernel lives on with its variables (kept + 1 = {result}, status {after['status']})")

    # Console.ReadLine in a cell asks the front end (input_request on the stdin channel).
    msg_id = kc.execute('var answer = Console.ReadLine();\n$"got {answer}"', allow_stdin=True)
    request = kc.get_stdin_msg(timeout=60)
    check(request["msg_type"] == "input_request" and request["parent_header"].get("msg_id") == msg_id, "Console.ReadLine sends input_request on stdin")
    kc.input("forty-two")
    reply, msgs = None, []
    while reply is None:
        m = kc.get_shell_msg(timeout=60)
        if m["parent_header"].get("msg_id") == msg_id:
            reply = m["content"]
    result = []
    while True:
        m = kc.get_iopub_msg(timeout=60)
        if m["parent_header"].get("msg_id") != msg_id:
            continue
        if m["msg_type"] == "execute_result":
            result.append(m["content"]["data"]["text/plain"])
        if m["msg_type"] == "status" and m["content"]["execution_state"] == "idle":
            break
    check(reply["status"] == "ok" and result == ["got forty-two"], f"input_reply reaches the cell ({result})")

    t0 = time.perf_counter()
    kc.shutdown()  # shutdown_request on the control channel
    reply = None
    while reply is None:
        m = kc.get_control_msg(timeout=30)
        if m["msg_type"] == "shutdown_reply":
            reply = m["content"]
    check(reply["status"] == "ok", "shutdown_reply ok")
    while km.is_alive() and time.perf_counter() - t0 < 30:
        time.sleep(0.05)
    exited = not km.is_alive()
    code = km.provisioner.process.poll() if km.provisioner and km.provisioner.process else None
    print(f"shutdown: process {pid} exited after {time.perf_counter() - t0:.2f} s with code {code}")
    check(exited and code == 0, "kernel process exits with code 0 after shutdown_request (abandoned cell threads included)")
    kc.stop_channels()
    km.cleanup_resources()

    # A kernel started by a process that ignores SIGINT (a script's background job, nohup) inherits the ignored
    # disposition; the kernel must restore it, or SIGINT interrupts stop working.
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        km, kc, _ = start()
    finally:
        signal.signal(signal.SIGINT, previous)
    try:
        reply, seconds = interrupt_after_start(km, kc, "while (true) { }", "signal")
        print(f"interrupt (signal) of a loop, kernel started with SIGINT ignored: execute_reply after {seconds:.3f} s: {reply.get('ename')}")
        check(reply["status"] == "error" and reply.get("ename") == "Interrupted", "SIGINT interrupts a kernel whose parent ignored SIGINT")
    except queue.Empty:
        check(False, "SIGINT interrupts a kernel whose parent ignored SIGINT (no execute_reply within 120 s)")
    kc.stop_channels()
    km.shutdown_kernel(now=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
