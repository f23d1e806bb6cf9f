using MMEureka.Models;
using MMEureka.Torch;
using MMEureka.Torch.Blas;
using static MMEureka.Torch.torch;

namespace MMEureka.Cli.Bench;

/// <summary>What <c>mmeureka bench engine</c> measured; serialised as the JSON bench/compare_report.py reads.</summary>
/// <param name="TrainStepGflop">The train step's nominal work (<see cref="BenchGptConfig.TrainStepFlops"/>), in GFLOP.</param>
/// <param name="FmaPeakGflops">The machine's FMA ceiling (<see cref="Benchmarks.FmaPeakGflops"/>) by thread count.</param>
public sealed record EngineBenchResult(
    IReadOnlyList<GemmTiming> Gemm, double TrainStepMs, IReadOnlyDictionary<int, double> GenerateTokS, double PeakRssMb, string Blas,
    IReadOnlyList<VlmSamplingTiming> VlmSampling, string VlmModel, double TrainStepGflop = 0,
    IReadOnlyDictionary<int, double>? FmaPeakGflops = null);

/// <summary>The workloads of bench/README.md, in one process: training first (so that the peak working set read
/// after it is the training's), then the GPT's sampling, MiniVlm's sampling (<see cref="VlmSamplingBenchmark"/>),
/// then GEMM per backend.</summary>
public static class EngineBenchmark
{
    public static readonly int[] GemmSizes = [128, 256, 512, 1024];
    public static readonly int[] GenerateBatches = [8, 64];
    public const int Batch = 32, Prompt = 16, NewTokens = 64;

    /// <summary>Runs everything; <paramref name="log"/> gets one line per finished item. MiniVlm samples from
    /// <paramref name="checkpoint"/>, or from the quick shape initialised from seed 0 without one.</summary>
    public static EngineBenchResult Run(bool quick, Action<string> log, string? checkpoint = null)
    {
        var config = new BenchGptConfig();
        double trainMs = TrainStepSeconds(config, quick) * 1e3;
        double peak = Benchmarks.PeakWorkingSetMb();
        log($"train step: {trainMs:F1} ms (peak working set {peak:F0} MB)");

        manual_seed(0);
        var model = new BenchGpt(config);
        model.eval();
        var tokS = new Dictionary<int, double>();
        foreach (int b in GenerateBatches)
        {
            tokS[b] = GenerateTokensPerSecond(model, b, quick);
            log($"sampling batch {b}: {tokS[b]:F0} tok/s");
        }

        var vlm = VlmSamplingBenchmark.Model(checkpoint);
        var vlmTimings = new List<VlmSamplingTiming>();
        foreach (int b in VlmSamplingBenchmark.Batches)
        {
            vlmTimings.Add(VlmSamplingBenchmark.Measure(vlm, b, calls: quick ? 3 : 5));
            log($"MiniVlm sampling batch {b}: {vlmTimings[^1].TokensPerSecond:F0} tok/s ({vlmTimings[^1].TokensPerRow:F1} tokens per row)");
        }

        var gemm = new List<GemmTiming>();
        foreach (var backend in OpenBlas.IsAvailable ? new[] { "openblas", "managed" } : ["managed"])
        {
            gemm.AddRange(GemmBenchmark.Run(GemmSizes, backend, samples: quick ? 3 : 7));
            log($"gemm {backend}: done");
        }
        var peaks = new SortedDictionary<int, double>();
        foreach (int t in new[] { 1, Environment.ProcessorCount }.Distinct()) peaks[t] = Benchmarks.FmaPeakGflops(t);
        log("FMA peak: " + string.Join(", ", peaks.Select(p => $"{p.Value:F0} GFLOP/s on {p.Key} thread(s)")));
        return new EngineBenchResult(gemm, trainMs, tokS, peak, Gemm.Backend, vlmTimings, checkpoint ?? "quick preset, seed 0",
            config.TrainStepFlops(Batch) / 1e9, peaks);
    }

    /// <summary>Per-op profiles (<see cref="Profiler"/>) of the training step, of the GPT's sampling at batch 64 and
    /// of MiniVlm's (<paramref name="checkpoint"/> or the quick shape), after warm-up.</summary>
    public static string Profile(int steps = 4, string? checkpoint = null)
    {
        var config = new BenchGptConfig();
        manual_seed(0);
        var model = new BenchGpt(config);
        var opt = optim.AdamW(model.parameters(), lr: 3e-4, weight_decay: 0.01);
        var (ids, targets) = RandomBatch(new Generator(1), config.Vocab, Batch, config.MaxLength);
        var sb = new System.Text.StringBuilder();
        for (int pass = 0; pass < 2; pass++)
        {
            bool timed = pass == 1;
            Profiler.Enabled = timed;
            Profiler.Reset();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            long allocated = GC.GetTotalAllocatedBytes(), faults = MinorFaults();
            var paused = GC.GetTotalPauseDuration();
            int collections = GC.CollectionCount(0);
            var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            for (int s = 0; s < steps; s++)
            {
                Profiler.Mark();
                var loss = model.Loss(ids, targets, Batch, config.MaxLength);
                opt.zero_grad();
                loss.backward();
                opt.step();
            }
            if (timed)
                sb.AppendLine($"training step: {sw.Elapsed.TotalMilliseconds / steps:F1} ms per step (profiled), "
                    + $"CPU {(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / steps:F0} ms, "
                    + $"allocated {(GC.GetTotalAllocatedBytes() - allocated) / 1e6 / steps:F0} MB, {(MinorFaults() - faults) / steps} page faults, "
                    + $"{(GC.CollectionCount(0) - collections) / (double)steps:F1} GCs and {(GC.GetTotalPauseDuration() - paused).TotalMilliseconds / steps:F1} ms of GC pauses per step, "
                    + $"peak working set {Benchmarks.PeakWorkingSetMb():F0} MB; "
                    + $"totals over {steps} steps:").AppendLine(Profiler.Report());
        }
        model.eval();
        var g = new Generator(64);
        var prompt = new int[64 * Prompt];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = g.NextInt(config.Vocab);
        for (int pass = 0; pass < 4; pass++) // three untimed calls first: the JIT tiers the decoding loop up
        {
            bool timed = pass == 3;
            Profiler.Enabled = timed;
            Profiler.Reset();
            var sw = System.Diagnostics.Stopwatch.StartNew();
            model.Generate(prompt, 64, NewTokens, 1f, g);
            if (timed) sb.AppendLine($"sampling batch 64: {64 * NewTokens / sw.Elapsed.TotalSeconds:F0} tok/s (profiled); the untracked rest is sampling glue:").AppendLine(Profiler.Report());
        }
        sb.AppendLine(VlmSamplingProfile(VlmSamplingBenchmark.Model(checkpoint), 64));
        Profiler.Enabled = false;
        return sb.ToString();
    }

    /// <summary>Per-op times of one MiniVlm sampling call of <paramref name="batch"/> rows (the workload of
    /// <see cref="VlmSamplingBenchmark"/>) after three untimed ones, with the wall time beside them: with shards the
    /// op times add up CPU time on every core, and what they leave out is the sampler's own work.</summary>
    public static string VlmSamplingProfile(MiniVlm model, int batch)
    {
        var tok = new Tokenizer();
        var pixels = Enumerable.Range(0, batch).Select(r => VlmSamplingBenchmark.Image(model.Config, r)).ToList();
        var prompts = Enumerable.Range(0, batch).Select(r => VlmSamplingBenchmark.Prompt(tok, r)).ToList();
        var config = new SamplingConfig { Temperature = 1f, MaxNewTokens = VlmSamplingBenchmark.NewTokens, Seed = 1 };
        var sb = new System.Text.StringBuilder();
        bool was = Profiler.Enabled;
        for (int pass = 0; pass < 4; pass++)
        {
            bool timed = pass == 3;
            Profiler.Enabled = timed;
            Profiler.Reset();
            var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            var results = Sampler.Sample(model, tok, pixels, prompts, config);
            if (!timed) continue;
            long generated = results.Sum(r => (long)r.Tokens.Length);
            sb.AppendLine($"MiniVlm sampling batch {batch}: {generated / sw.Elapsed.TotalSeconds:F0} tok/s (profiled), {generated} tokens, "
                + $"wall {sw.Elapsed.TotalMilliseconds:F0} ms, CPU {(System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds:F0} ms:")
                .AppendLine(Profiler.Report());
        }
        Profiler.Enabled = was;
        return sb.ToString();
    }

    /// <summary>Minor page faults of this process so far (Linux /proc/self/stat field 10), 0 elsewhere.</summary>
    static long MinorFaults()
    {
        const string stat = "/proc/self/stat";
        if (!File.Exists(stat)) return 0;
        var text = File.ReadAllText(stat);
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[7], System.Globalization.CultureInfo.InvariantCulture); // field 10 overall
    }

    /// <summary>Seconds of untimed training steps before the timed ones (bench/torch_reference.py uses the same).</summary>
    public const double TrainWarmupSeconds = 3.0;

    /// <summary>Median seconds of one forward + backward + AdamW step (lr 3e-4, weight decay 0.01) on a fixed batch
    /// of random tokens, inputs = data[:, :-1], targets = data[:, 1:].</summary>
    public static double TrainStepSeconds(BenchGptConfig config, bool quick)
    {
        manual_seed(0);
        var model = new BenchGpt(config);
        var opt = optim.AdamW(model.parameters(), lr: 3e-4, weight_decay: 0.01);
        int T = config.MaxLength;
        var (ids, targets) = RandomBatch(new Generator(1), config.Vocab, Batch, T);
        void Step()
        {
            var loss = model.Loss(ids, targets, Batch, T);
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        // Steady state, as in a training run of thousands of steps: .NET compiles a method fully only after it has run
        // a while and the process has had a quiet moment, so the first second of steps partly runs unoptimised code.
        // torch_reference.py warms up by the same rule.
        var (warmup, steps, warmupSeconds) = quick ? (1, 4, 1.0) : (2, 8, TrainWarmupSeconds);
        return Benchmarks.MedianSeconds(Step, warmup, steps, budgetSeconds: 3.0, warmupSeconds: warmupSeconds);
    }

    /// <summary>Random token rows of length T + 1, split into inputs and next-token targets.</summary>
    public static (int[] ids, int[] targets) RandomBatch(Generator g, int vocab, int batch, int T)
    {
        var ids = new int[batch * T];
        var targets = new int[batch * T];
        for (int b = 0; b < batch; b++)
        {
            var row = new int[T + 1];
            for (int i = 0; i <= T; i++) row[i] = g.NextInt(vocab);
            Array.Copy(row, 0, ids, b * T, T);
            Array.Copy(row, 1, targets, b * T, T);
        }
        return (ids, targets);
    }

    /// <summary>batch * 64 / median seconds of one whole sampling call (prefill of 16 prompt tokens included).</summary>
    public static double GenerateTokensPerSecond(BenchGpt model, int batch, bool quick)
    {
        var g = new Generator(batch);
        var prompt = new int[batch * Prompt];
        for (int i = 0; i < prompt.Length; i++) prompt[i] = g.NextInt(model.Config.Vocab);
        double t = Benchmarks.MedianSeconds(() => model.Generate(prompt, batch, NewTokens, 1f, g), 1, quick ? 3 : 5, budgetSeconds: 2.0);
        return batch * NewTokens / t;
    }
}
