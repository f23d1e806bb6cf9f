using NetMQ;
using NetMQ.Sockets;

namespace MMEureka.Cli.Kernel;

/// <summary>The kernel's sockets, by role.</summary>
public enum Channel { Shell, Control, Stdin, IOPub }

/// <summary>
/// The ZeroMQ side of the kernel, kept small so that the protocol code does not depend on a ZeroMQ library:
/// raw multipart frames in (shell, control, stdin) and out (those plus iopub); the heartbeat echoes by itself.
/// </summary>
public interface IKernelTransport : IDisposable
{
    /// <summary>Binds the sockets and starts delivering received messages to <paramref name="received"/> (on the transport's thread; it must return quickly).</summary>
    void Start(Action<Channel, List<byte[]>> received);

    /// <summary>Queues a multipart message; callable from any thread, sent in call order.</summary>
    void Send(Channel channel, IReadOnlyList<byte[]> frames);

    /// <summary>Waits until everything queued so far went to the sockets, or <paramref name="timeout"/> passed.</summary>
    void Flush(TimeSpan timeout);
}

/// <summary>
/// <see cref="IKernelTransport"/> over NetMQ (managed ZeroMQ): shell, control and stdin are ROUTER sockets, iopub
/// is PUB, the heartbeat a REP socket that sends back what it receives. One poller thread owns all sockets, since
/// NetMQ sockets are not thread-safe; sends from other threads go through a queue the poller drains.
/// </summary>
public sealed class NetMqTransport(ConnectionInfo connection) : IKernelTransport
{
    readonly RouterSocket shell = new(), control = new(), stdin = new();
    readonly PublisherSocket iopub = new();
    readonly ResponseSocket heartbeat = new();
    readonly NetMQQueue<(Channel Channel, IReadOnlyList<byte[]> Frames)> outbox = new();
    NetMQPoller? poller;
    long queued, sent;
    bool disposed;

    /// <inheritdoc/>
    public void Start(Action<Channel, List<byte[]>> received)
    {
        foreach (var (socket, port) in new (NetMQSocket, int)[]
                 {
                     (shell, connection.ShellPort), (control, connection.ControlPort), (stdin, connection.StdinPort),
                     (iopub, connection.IopubPort), (heartbeat, connection.HeartbeatPort),
                 })
        {
            socket.Options.Linger = TimeSpan.FromSeconds(1);
            socket.Bind(connection.Endpoint(port));
        }
        shell.ReceiveReady += (_, e) => received(Channel.Shell, e.Socket.ReceiveMultipartBytes());
        control.ReceiveReady += (_, e) => received(Channel.Control, e.Socket.ReceiveMultipartBytes());
        stdin.ReceiveReady += (_, e) => received(Channel.Stdin, e.Socket.ReceiveMultipartBytes());
        heartbeat.ReceiveReady += (_, e) => e.Socket.SendMultipartBytes(e.Socket.ReceiveMultipartBytes());
        outbox.ReceiveReady += (_, e) =>
        {
            while (e.Queue.TryDequeue(out var item, TimeSpan.Zero))
            {
                NetMQSocket socket = item.Channel switch
                {
                    Channel.Shell => shell, Channel.Control => control, Channel.Stdin => stdin, _ => iopub,
                };
                var message = new NetMQMessage(item.Frames.Count);
                foreach (var frame in item.Frames) message.Append(frame);
                socket.SendMultipartMessage(message);
                Interlocked.Increment(ref sent);
            }
        };
        poller = new NetMQPoller { shell, control, stdin, heartbeat, outbox };
        poller.RunAsync("jupyter sockets");
    }

    /// <inheritdoc/>
    public void Send(Channel channel, IReadOnlyList<byte[]> frames)
    {
        Interlocked.Increment(ref queued);
        outbox.Enqueue((channel, frames));
    }

    /// <inheritdoc/>
    public void Flush(TimeSpan timeout)
    {
        var target = Interlocked.Read(ref queued);
        var until = DateTime.UtcNow + timeout;
        while (Interlocked.Read(ref sent) < target && DateTime.UtcNow < until) Thread.Sleep(5);
    }

    /// <summary>Stops the poller and closes the sockets (each lingers up to 1 s to deliver what is queued).</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        if (poller is { IsRunning: true }) poller.Stop();
        poller?.Dispose();
        foreach (var socket in new NetMQSocket[] { shell, control, stdin, iopub, heartbeat }) socket.Dispose();
        outbox.Dispose();
    }
}
