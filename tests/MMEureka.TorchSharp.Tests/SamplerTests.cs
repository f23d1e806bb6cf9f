using MMEureka.Models;
using MMEureka.Twin;

namespace MMEureka.TorchSharp.Tests;

/// <summary>The twin's KV-cache sampler against the engine's on the same checkpoint, prompts and seeds.</summary>
public class SamplerTests
{
    [SkippableTheory]
    [InlineData(0f)]
    [InlineData(1f)]
    public void Same_tokens_and_log_probs_as_the_engine(float temperature)
    {
        Twin.RequireLibTorch();
        var dir = Twin.Checkpoint(Twin.Tiny, 21, "sampler");
        try
        {
            var engine = MiniVlm.Load(dir, out var tok);
            using var twin = TwinCheckpoint.Load(dir, out _);
            var g = new MMEureka.Torch.torch.Generator(4);
            // Prompts of different lengths (left padding) and a short limit so that some rows stop and others run on.
            var prompts = new[] { "What is 2 + 3?", "7?", "How many red squares are in the picture?", "x" }
                .Select(q => PolicyPrompt.Encode(tok, q)).ToList();
            var pixels = prompts.Select(_ => Enumerable.Range(0, 3 * 48 * 48).Select(_ => g.NextFloat()).ToArray()).ToList();
            var config = new SamplingConfig { Temperature = temperature, MaxNewTokens = 20, Seed = 9 };
            var a = Sampler.Sample(engine, tok, pixels, prompts, config);
            var b = TwinSampler.Sample(twin, tok, pixels, prompts, config);
            Assert.Equal(a.Length, b.Length);
            for (int r = 0; r < a.Length; r++)
            {
                Assert.Equal(a[r].Tokens, b[r].Tokens);
                Assert.Equal(a[r].Truncated, b[r].Truncated);
                for (int i = 0; i < a[r].LogProbs.Length; i++) Assert.True(Math.Abs(a[r].LogProbs[i] - b[r].LogProbs[i]) < 1e-4, $"row {r} token {i}");
            }
            Assert.Contains(a, x => x.Tokens.Length > 3); // the comparison covers many decode steps
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
