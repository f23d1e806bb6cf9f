namespace MMEureka.Torch;

/// <summary>
/// Whether the engine may spread one op over several cores on the current thread. Inside
/// <see cref="torch.parallel_shards"/> every op of a shard runs on its own thread alone: the shards already keep
/// the cores busy, and handing a 20 us op to the pool and back costs about as much as the op.
/// </summary>
internal static class Threads
{
    [ThreadStatic] private static int _serialDepth;

    /// <summary>True while this thread runs a shard: GEMM, row loops and attention heads stay on this thread.</summary>
    public static bool Serial => _serialDepth > 0;

    /// <summary>Runs <paramref name="body"/> with <see cref="Serial"/> set on this thread.</summary>
    public static void RunSerial(Action body)
    {
        _serialDepth++;
        try { body(); }
        finally { _serialDepth--; }
    }
}

public static partial class torch
{
    /// <summary>
    /// Runs <paramref name="body"/>(0) ... <paramref name="body"/>(count - 1) on the thread pool, as many at a time
    /// as there are cores, each on one thread with every op inside single-threaded, and returns when all are done.
    /// For independent work such as batch shards of a sampler. Grad mode (<see cref="no_grad"/>) carries over to
    /// the shards. The shards must not write to shared state; what each one computes does not depend on how many
    /// run at once, so results are the same on any number of cores. The first exception is rethrown.
    /// </summary>
    public static void parallel_shards(int count, Action<int> body)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(body);
        bool grad = Autograd.Enabled;
        void Shard(int i) => Threads.RunSerial(() =>
        {
            using var _ = grad ? null : no_grad();
            if (Profiler.Enabled) Profiler.Mark();
            body(i);
        });
        if (count == 1 || Environment.ProcessorCount == 1)
        {
            for (int i = 0; i < count; i++) Shard(i);
            return;
        }
        try
        {
            Parallel.For(0, count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, Shard);
        }
        catch (AggregateException e) when (e.InnerExceptions.Count >= 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}
