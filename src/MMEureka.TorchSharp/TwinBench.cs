using System.Diagnostics;
using MMEureka.Cli.Bench;
using MMEureka.Models;
using MMEureka.Torch;
using static TorchSharp.torch;
using Engine = MMEureka.Torch.torch;

namespace MMEureka.Twin;

/// <summary>libtorch's numbers at one thread count (the items of <c>mmeureka bench engine</c>, measured the same way).</summary>
/// <param name="Threads">libtorch intra-op threads (torch.set_num_threads); for the engine's row, the cores it uses.</param>
/// <param name="TrainStepMs">Median ms of one forward + backward + AdamW step of the benchmark GPT on [32, 96] tokens.</param>
/// <param name="GenerateTokS">KV-cache sampling of the benchmark GPT, tokens/s, by batch (8, 64).</param>
/// <param name="VlmTokS">MiniVlm sampling through <see cref="TwinSampler"/>, generated tokens/s at batch 64.</param>
public sealed record TwinBenchRow(int Threads, double TrainStepMs, IReadOnlyDictionary<string, double> GenerateTokS, double VlmTokS);

/// <summary>The twin's benchmark: the engine's row (its own benchmark code, all cores), then libtorch's row per thread
/// count, in one process, on the same weights and prompts; the machine's load when it started; the train step's
/// nominal work (<see cref="BenchGptConfig.TrainStepFlops"/>, GFLOP) and the FMA ceiling on all cores
/// (<see cref="Benchmarks.FmaPeakGflops"/>, GFLOP/s), so that each step time reads as a share of what the CPU can do.</summary>
public sealed record TwinBenchResult(string LibTorch, TwinBenchRow Engine, IReadOnlyList<TwinBenchRow> ByThreads, double LoadAverage1m,
    double TrainStepGflop, double FmaPeakGflops);

/// <summary>
/// libtorch as the engine's speed peer: the benchmark GPT's train step and KV-cache sampling (the shapes, warm-up and
/// repeats of the engine's EngineBenchmark and bench/torch_reference.py), and MiniVlm sampling (the shape of
/// <c>mmeureka model throughput</c>: batch 64, up to 128 new tokens, temperature 1), at each libtorch thread count.
/// </summary>
public static class TwinBench
{
    /// <summary>Shapes shared with the engine's benchmark (EngineBenchmark: Batch, Prompt, NewTokens, GenerateBatches).</summary>
    public const int Batch = 32, Seq = 96, Vocab = 96, Prompt = 16, NewTokens = 64, VlmBatch = 64, VlmTokens = 128;

    /// <summary>Sampling batches of the GPT benchmark.</summary>
    public static readonly int[] GenerateBatches = [8, 64];

    /// <summary>Runs every item at each of <paramref name="threads"/>; <paramref name="checkpoint"/> (or a freshly
    /// initialised default MiniVlm) is the sampled policy.</summary>
    public static TwinBenchResult Run(IReadOnlyList<int> threads, string? checkpoint, bool quick, Action<string> log)
    {
        LibTorch.EnsureLoaded();
        double load = ReadLoadAverage();
        var (policy, tokenizer) = checkpoint != null ? (MiniVlm.Load(checkpoint, out var t), t) : (new MiniVlm(new MiniVlmConfig()), new Tokenizer());
        using var twinVlm = new TwinVlm(policy.Config);
        TwinCheckpoint.CopyInto(twinVlm, SafeTensors.Parse(SafeTensors.Serialize(policy.named_parameters()
            .Select(np => new SafeTensorEntry(np.name, np.parameter.shape, np.parameter.data<float>()))), "engine"), "engine");
        var (pixels, prompts) = VlmInputs(policy.Config, tokenizer);

        // The engine first: libtorch's OpenMP threads keep spinning for a while after their last parallel region and
        // would slow whatever runs next.
        var engineTrain = EngineBenchmark.TrainStepSeconds(new BenchGptConfig(), quick) * 1e3;
        log($"engine ({Environment.ProcessorCount} cores): train step {engineTrain:F1} ms");
        Engine.manual_seed(0);
        var gpt = new BenchGpt(new BenchGptConfig());
        var engineGen = new Dictionary<string, double>();
        foreach (int b in GenerateBatches)
        {
            engineGen[b.ToString()] = EngineBenchmark.GenerateTokensPerSecond(gpt, b, quick);
            log($"engine: GPT sampling batch {b}: {engineGen[b.ToString()]:F0} tok/s");
        }
        double engineVlmTokS = VlmTokensPerSecond((px, pr, cfg) => Sampler.Sample(policy, tokenizer, px, pr, cfg), pixels, prompts, quick);
        log($"engine: MiniVlm sampling batch {VlmBatch}: {engineVlmTokS:F0} tok/s");
        var engine = new TwinBenchRow(Environment.ProcessorCount, engineTrain, engineGen, engineVlmTokS);
        // Before libtorch runs, for the same reason as the engine's row.
        double peak = Benchmarks.FmaPeakGflops(Environment.ProcessorCount);
        log($"FMA peak on {Environment.ProcessorCount} threads: {peak:F0} GFLOP/s");

        var rows = new List<TwinBenchRow>();
        foreach (int n in threads)
        {
            if (n < 1) throw new ArgumentException($"--threads: {n} is not a thread count");
            set_num_threads(n);
            double train = TrainStepSeconds(quick) * 1e3;
            log($"libtorch {n} thread(s): train step {train:F1} ms");
            var gen = new Dictionary<string, double>();
            foreach (int b in GenerateBatches)
            {
                gen[b.ToString()] = GenerateTokensPerSecond(b, quick);
                log($"libtorch {n} thread(s): GPT sampling batch {b}: {gen[b.ToString()]:F0} tok/s");
            }
            double vlm = VlmTokensPerSecond((px, pr, cfg) => TwinSampler.Sample(twinVlm, tokenizer, px, pr, cfg), pixels, prompts, quick);
            log($"libtorch {n} thread(s): MiniVlm sampling batch {VlmBatch}: {vlm:F0} tok/s");
            rows.Add(new TwinBenchRow(n, train, gen, vlm));
        }
        return new TwinBenchResult(LibTorch.Describe(), engine, rows, load, new BenchGptConfig().TrainStepFlops(Batch) / 1e9, peak);
    }

    /// <summary>Median seconds of one train step after a steady-state warm-up (3 s; 1 s with <paramref name="quick"/>).</summary>
    public static double TrainStepSeconds(bool quick)
    {
        manual_seed(0);
        using var model = new TwinGpt(Vocab, 128, 4, 4, Seq);
        using var opt = optim.AdamW(model.parameters(), lr: 3e-4, weight_decay: 0.01);
        var g = new Generator(1);
        var data = randint(0, Vocab, [Batch, Seq + 1], generator: g);
        var x = data.narrow(1, 0, Seq).contiguous();
        var y = data.narrow(1, 1, Seq).contiguous();
        void Step()
        {
            using var scope = NewDisposeScope();
            var loss = model.Loss(x, y);
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        var (warmup, steps, warmupSeconds) = quick ? (1, 4, 1.0) : (2, 8, 3.0);
        return Benchmarks.MedianSeconds(Step, warmup, steps, budgetSeconds: 3.0, warmupSeconds: warmupSeconds);
    }

    /// <summary>batch * 64 / median seconds of one whole sampling call (prefill of 16 prompt tokens included).</summary>
    public static double GenerateTokensPerSecond(int batch, bool quick)
    {
        manual_seed(0);
        using var model = new TwinGpt(Vocab, 128, 4, 4, Seq);
        model.eval();
        var g = new Generator((ulong)batch);
        var prompt = randint(0, Vocab, [batch, Prompt], generator: g);
        double t = Benchmarks.MedianSeconds(() => { using var _ = model.Generate(prompt, NewTokens, 1f, g); }, 1, quick ? 3 : 5, budgetSeconds: 2.0);
        return batch * NewTokens / t;
    }

    /// <summary>Random images and <c>&lt;bos&gt;What is i + i % 7?</c> prompts, as <c>mmeureka model throughput</c> uses.</summary>
    public static (List<float[]> pixels, List<int[]> prompts) VlmInputs(MiniVlmConfig c, Tokenizer tok)
    {
        var rng = new Engine.Generator(0);
        int n = c.Channels * c.ImageSize * c.ImageSize;
        var pixels = Enumerable.Range(0, VlmBatch).Select(_ => { var a = new float[n]; for (int i = 0; i < n; i++) a[i] = rng.NextFloat(); return a; }).ToList();
        var prompts = Enumerable.Range(0, VlmBatch).Select(i => tok.Encode($"<bos>What is {i} + {i % 7}?\n")).ToList();
        return (pixels, prompts);
    }

    /// <summary>Generated tokens per second (rows that stop leave the batch), median of timed runs after one short warm-up.</summary>
    public static double VlmTokensPerSecond(Func<List<float[]>, List<int[]>, SamplingConfig, SampleResult[]> sample,
        List<float[]> pixels, List<int[]> prompts, bool quick)
    {
        var config = new SamplingConfig { Temperature = 1f, MaxNewTokens = VlmTokens, Seed = 1 };
        sample(pixels, prompts, config with { MaxNewTokens = 8 });
        var rates = new List<double>();
        for (int r = 0; r < (quick ? 1 : 3); r++)
        {
            var sw = Stopwatch.StartNew();
            var results = sample(pixels, prompts, config with { Seed = r + 2 });
            rates.Add(results.Sum(x => (long)x.Tokens.Length) / sw.Elapsed.TotalSeconds);
        }
        return Benchmarks.Median(rates);
    }

    static double ReadLoadAverage()
    {
        try { return double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture); }
        catch (IOException) { return double.NaN; }
        catch (UnauthorizedAccessException) { return double.NaN; }
    }
}
