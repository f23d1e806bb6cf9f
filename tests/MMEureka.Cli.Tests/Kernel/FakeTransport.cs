using System.Collections.Concurrent;
using MMEureka.Cli.Kernel;

namespace MMEureka.Cli.Tests.Kernel;

/// <summary>An in-memory transport: tests push frames in as a client would and read what the kernel sent, in order.</summary>
public sealed class FakeTransport : IKernelTransport
{
    Action<Channel, List<byte[]>>? received;
    public BlockingCollection<(Channel Channel, IReadOnlyList<byte[]> Frames)> Sent { get; } = new();

    public bool Started => received is not null;
    public void Start(Action<Channel, List<byte[]>> received) => this.received = received;
    /// <summary>Called on the kernel's thread as it sends, before the frames are queued: a client that answers at once.</summary>
    public Action<Channel, IReadOnlyList<byte[]>>? OnSend { get; set; }
    public void Send(Channel channel, IReadOnlyList<byte[]> frames)
    {
        OnSend?.Invoke(channel, frames);
        Sent.Add((channel, frames));
    }
    public void Flush(TimeSpan timeout) { }
    public void Dispose() { }

    public void Receive(Channel channel, List<byte[]> frames) => received!(channel, frames);
}
