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
    /// the shards, and so does <see cref="inference_mode"/>. The shards must not write to shared state; what each one computes does not depend on how many
    /// run at once, so results are the same on any number of cores. The first exception is rethrown.
    /// </summary>
    public static void parallel_shards(int count, Action<int> body)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentNullException.ThrowIfNull(body);
        bool grad = Autograd.Enabled;
        var inference = InferenceMode.Current;
        void Shard(int i) => Threads.RunSerial(() =>
        {
            using var _ = grad ? null : no_grad();
            using var __ = inference == null ? null : InferenceMode.Use(inference);
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

/// <summary>
/// One helper thread per extra core that stays awake (spinning, then yielding) for a moment after each job, so that
/// handing half of a 20 us product to another core costs about a microsecond instead of waking a parked pool
/// thread. Parts are claimed, not assigned: the caller takes whatever no helper has started, so a helper that other
/// processes keep off its core costs nothing but the hand-off. Used by the GEMM split; one caller at a time
/// (others, and calls from a helper, get false and use the thread pool instead).
/// </summary>
internal static class CoreTeam
{
    /// <summary>Spin iterations (SpinWait: busy at first, then yielding the core) before a helper parks.</summary>
    private const int SpinBeforeParking = 100;

    private sealed class Job(Action<int> body, int parts)
    {
        public readonly Action<int> Body = body;
        public readonly int Parts = parts;
        public int Next;
        public int Completed;
        public Exception? Failure;

        /// <summary>Runs unclaimed parts until none is left.</summary>
        public void Work()
        {
            int part;
            while ((part = Interlocked.Increment(ref Next) - 1) < Parts)
            {
                try { Body(part); }
                catch (Exception e) { Interlocked.CompareExchange(ref Failure, e, null); }
                Interlocked.Increment(ref Completed);
            }
        }
    }

    private sealed class Helper
    {
        public readonly ManualResetEventSlim Ready = new(false, SpinBeforeParking);
        public volatile Job? Job;
    }

    private static readonly Helper[] _helpers = Start();
    private static int _busy;
    [ThreadStatic] private static bool _isHelper;

    private static Helper[] Start()
    {
        var helpers = new Helper[Math.Max(0, Environment.ProcessorCount - 1)];
        // The helpers live for the whole process: they must not inherit whatever async-local state (such as a
        // backward pass's record of its buffers) the first caller happens to have.
        using var _ = ExecutionContext.SuppressFlow();
        for (int i = 0; i < helpers.Length; i++)
        {
            var h = helpers[i] = new Helper();
            new Thread(() => Loop(h)) { IsBackground = true, Name = $"MMEureka core team {i + 1}" }.Start();
        }
        return helpers;
    }

    private static void Loop(Helper h)
    {
        _isHelper = true;
        while (true)
        {
            h.Ready.Wait();
            h.Ready.Reset();
            h.Job?.Work(); // a late wake-up may find the job finished: nothing left to claim
        }
    }

    /// <summary>Cuts [0, extent) into <paramref name="parts"/> slices of whole granules (the last may end early at
    /// extent) and runs body(start, end) for each, in parallel: on the team, else on the thread pool. For products
    /// split into one slice of C per core.</summary>
    public static void RunSlices(int extent, int granule, int parts, Action<int, int> body)
    {
        int units = (extent + granule - 1) / granule;
        void Part(int part)
        {
            int t0 = (int)((long)units * part / parts) * granule, t1 = Math.Min((int)((long)units * (part + 1) / parts) * granule, extent);
            if (t1 > t0) body(t0, t1);
        }
        if (!TryRun(parts, Part))
            Parallel.For(0, parts, new ParallelOptions { MaxDegreeOfParallelism = parts }, Part);
    }

    /// <summary>Runs body(0) .. body(parts - 1) on the calling thread and the helpers and returns when all are
    /// done (rethrowing the first exception); false, with nothing run, when the team is busy or has no helpers.</summary>
    public static bool TryRun(int parts, Action<int> body)
    {
        if (_helpers.Length == 0 || _isHelper || Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        try
        {
            var job = new Job(body, parts);
            for (int i = 0; i < Math.Min(parts - 1, _helpers.Length); i++)
            {
                _helpers[i].Job = job;
                _helpers[i].Ready.Set();
            }
            job.Work();
            var spinner = new SpinWait();
            while (Volatile.Read(ref job.Completed) < parts) spinner.SpinOnce(sleep1Threshold: -1);
            if (job.Failure != null) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(job.Failure).Throw();
            return true;
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
    }
}
