using MMEureka.Models;

namespace MMEureka.Tests.Models;

/// <summary>Small models and inputs shared by the policy tests (fast: dims of a few dozen).</summary>
internal static class TestModels
{
    public static readonly MiniVlmConfig Tiny = new()
    {
        VisionDim = 16, VisionLayers = 1, VisionHeads = 2, TextDim = 32, TextLayers = 2, TextHeads = 2,
        MaxTextLen = 40,
    };

    public static MiniVlm Model(long seed = 1) => new(Tiny, seed);

    /// <summary>A deterministic pseudo-random image in [0, 1].</summary>
    public static float[] Image(int seed, MiniVlmConfig? c = null)
    {
        c ??= Tiny;
        var rng = new Random(seed);
        var px = new float[c.Channels * c.ImageSize * c.ImageSize];
        for (int i = 0; i < px.Length; i++) px[i] = (float)rng.NextDouble();
        return px;
    }

    /// <summary>&lt;bos&gt; followed by the characters of <paramref name="text"/>.</summary>
    public static int[] Prompt(string text) => [Tokenizer.Bos, .. new Tokenizer().Encode(text)];
}
