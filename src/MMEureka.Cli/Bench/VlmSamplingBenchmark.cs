using System.Diagnostics;
using MMEureka.Models;
using MMEureka.Torch;

namespace MMEureka.Cli.Bench;

/// <summary>What one batch size of the MiniVlm sampling benchmark measured: the median rate over timed calls and
/// the mean response length (how much work a call was: rows stop at &lt;/answer&gt; or &lt;eos&gt;).</summary>
public sealed record VlmSamplingTiming(int Batch, double TokensPerSecond, double TokensPerRow, int Calls);

/// <summary>
/// RL's rollout workload for <c>mmeureka bench engine</c>, identical in bench/torch_reference.py (the PyTorch twin's
/// <c>MiniVlm.generate</c>): <see cref="Sampler.Sample(MiniVlm, Tokenizer, IReadOnlyList{float[]}, IReadOnlyList{int[]}, SamplingConfig, IReadOnlyList{long}?)"/>
/// on a batch of distinct rows, prompt i = <c>&lt;bos&gt;What is {i} + {i % 7}?\n</c>, image i a fixed pattern
/// (<see cref="Image"/>), temperature 1, at most <see cref="NewTokens"/> new tokens; rate = tokens generated /
/// seconds of the whole call (image encoding and prefill included), median over calls with seeds 1, 2, ...
/// </summary>
public static class VlmSamplingBenchmark
{
    /// <summary>Batch sizes measured (RL samples 64 rows at a time in the quick preset: 8 prompts x 8).</summary>
    public static readonly int[] Batches = [8, 64];

    /// <summary>The generation cap of the issue's <c>model throughput --tokens 160</c> and of RL's quick preset.</summary>
    public const int NewTokens = 160;

    /// <summary>Prompt of row <paramref name="row"/>.</summary>
    public static int[] Prompt(Tokenizer tokenizer, int row) => tokenizer.Encode($"<bos>What is {row} + {row % 7}?\n");

    /// <summary>Image of row <paramref name="row"/>: value ((i * 7 + row * 31) mod 251) / 250 at index i (channel-first),
    /// the same numbers in Python.</summary>
    public static float[] Image(MiniVlmConfig c, int row)
    {
        var px = new float[c.Channels * c.ImageSize * c.ImageSize];
        for (int i = 0; i < px.Length; i++) px[i] = (float)((i * 7L + row * 31L) % 251) / 250f;
        return px;
    }

    /// <summary>Times sampling <paramref name="batch"/> rows: untimed calls for at least a call and
    /// <paramref name="warmupSeconds"/> first (the JIT optimises the decoding loop after it has run a while), then
    /// <paramref name="calls"/> timed ones (fewer once three are in and <paramref name="budgetSeconds"/> passed).</summary>
    public static VlmSamplingTiming Measure(MiniVlm model, int batch, int calls = 5, double warmupSeconds = 2.0, double budgetSeconds = 6.0)
    {
        var tok = new Tokenizer();
        var pixels = Enumerable.Range(0, batch).Select(r => Image(model.Config, r)).ToList();
        var prompts = Enumerable.Range(0, batch).Select(r => Prompt(tok, r)).ToList();
        var config = new SamplingConfig { Temperature = 1f, MaxNewTokens = NewTokens };
        var warm = Stopwatch.StartNew();
        long seed = 1000;
        do Sampler.Sample(model, tok, pixels, prompts, config with { Seed = seed++ });
        while (warm.Elapsed.TotalSeconds < warmupSeconds);

        var rates = new List<double>();
        long tokens = 0;
        var budget = Stopwatch.StartNew();
        for (int call = 0; call < calls; call++)
        {
            var sw = Stopwatch.StartNew();
            var results = Sampler.Sample(model, tok, pixels, prompts, config with { Seed = call + 1 });
            double seconds = sw.Elapsed.TotalSeconds;
            long generated = results.Sum(r => (long)r.Tokens.Length);
            tokens += generated;
            rates.Add(generated / seconds);
            if (rates.Count >= 3 && budget.Elapsed.TotalSeconds > budgetSeconds) break;
        }
        rates.Sort();
        return new VlmSamplingTiming(batch, rates[rates.Count / 2], tokens / (double)(rates.Count * batch), rates.Count);
    }

    /// <summary>The model to sample: the checkpoint at <paramref name="checkpoint"/>, else the quick preset's shape
    /// initialised from seed 0 (what <c>mmeureka model init --preset quick</c> writes, so PyTorch can load the same).</summary>
    public static MiniVlm Model(string? checkpoint) =>
        checkpoint != null ? MiniVlm.Load(checkpoint) : new MiniVlm(MiniVlmConfig.ForPreset("quick"), 0);
}
