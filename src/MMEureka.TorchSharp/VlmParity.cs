using MMEureka.Models;
using static TorchSharp.torch;
using Engine = MMEureka.Torch.torch;
using ETensor = MMEureka.Torch.Tensor;

namespace MMEureka.Twin;

/// <summary>What <see cref="VlmParity.Run"/> measured: the largest absolute differences between the engine and the
/// twin on one checkpoint, with the size of what was compared so that a small difference means something.</summary>
/// <param name="Checkpoint">Folder both models were loaded from.</param>
/// <param name="LogitsMaxDiff">max |engine - twin| over every logit of <see cref="MiniVlm.forward"/> (image positions included).</param>
/// <param name="LogitsMaxAbs">max |logit| (the scale of the numbers compared).</param>
/// <param name="LogitsCount">Logits compared.</param>
/// <param name="LossEngine">SFT loss (<see cref="PolicyLogProbs.ResponseLoss"/>) of the engine.</param>
/// <param name="LossTwin">The same loss computed by the twin.</param>
/// <param name="GradMaxDiff">max |engine - twin| over every gradient entry of that loss.</param>
/// <param name="GradMaxAbs">max |gradient entry|.</param>
/// <param name="GradWorstTensor">The parameter whose gradient differs most.</param>
/// <param name="GradTensors">Parameters compared (all of them).</param>
/// <param name="Tolerance">The bar both maxima must stay under.</param>
/// <param name="LibTorch">TorchSharp/libtorch description line.</param>
public sealed record ParityReport(string Checkpoint, double LogitsMaxDiff, double LogitsMaxAbs, long LogitsCount,
    double LossEngine, double LossTwin, double GradMaxDiff, double GradMaxAbs, string GradWorstTensor, int GradTensors,
    double Tolerance, string LibTorch)
{
    /// <summary>True when logits, loss and gradients all agree within <see cref="Tolerance"/>.</summary>
    public bool Passed => LogitsMaxDiff <= Tolerance && GradMaxDiff <= Tolerance && Math.Abs(LossEngine - LossTwin) <= Tolerance;

    /// <summary>A few lines for a terminal.</summary>
    public override string ToString() =>
        $"checkpoint  {Checkpoint}\n" +
        $"libtorch    {LibTorch}\n" +
        $"logits      max |engine - twin| = {LogitsMaxDiff:E2} over {LogitsCount:N0} logits (max |logit| {LogitsMaxAbs:F2})\n" +
        $"SFT loss    engine {LossEngine:F6}, twin {LossTwin:F6} (|diff| {Math.Abs(LossEngine - LossTwin):E2})\n" +
        $"gradients   max |engine - twin| = {GradMaxDiff:E2} over {GradTensors} tensors (max |grad| {GradMaxAbs:E2}; worst: {GradWorstTensor})\n" +
        $"{(Passed ? "PASS" : "FAIL")}: tolerance {Tolerance:E0}";
}

/// <summary>
/// In-process parity of the engine's MiniVlm and its TorchSharp twin on the same checkpoint folder: the logits of one
/// batch, and the SFT loss and every parameter gradient of another (rows of different prompt and response lengths,
/// so that padding and the ignore label are exercised). Inputs are drawn from a seed.
/// </summary>
public static class VlmParity
{
    /// <summary>The bar of issue 16 (and of bench/parity.py): 1e-4 absolute.</summary>
    public const double DefaultTolerance = 1e-4;

    /// <summary>Loads <paramref name="checkpoint"/> into both engines and compares them.</summary>
    public static ParityReport Run(string checkpoint, long seed = 0, double tolerance = DefaultTolerance)
    {
        LibTorch.EnsureLoaded();
        var engine = MiniVlm.Load(checkpoint, out var tokenizer);
        using var twin = TwinCheckpoint.Load(checkpoint, out _);
        var c = engine.Config;
        var g = new Engine.Generator(seed);

        // Logits: two rows, a real prompt and a response-like tail of random characters.
        var pixels = Enumerable.Range(0, 2).Select(_ => RandomPixels(c, g)).ToList();
        int length = Math.Min(c.MaxTextLen, 40);
        var tokens = new int[2 * length];
        for (int r = 0; r < 2; r++)
        {
            var prompt = PolicyPrompt.Encode(tokenizer, $"What is {r + 3} + {r + 4}?");
            for (int j = 0; j < length; j++) tokens[r * length + j] = j < prompt.Length ? prompt[j] : g.NextInt(c.VocabSize);
        }
        float[] engineLogits;
        using (Engine.no_grad()) engineLogits = engine.forward(Sampler.ImageBatch(pixels, c), tokens, length).contiguous().data<float>();
        float[] twinLogits;
        using (no_grad())
        using (var scope = NewDisposeScope())
            twinLogits = twin.forward(TwinLogProbs.Images(pixels, c, CPU), tensor(tokens.Select(t => (long)t).ToArray(), [2, length]))
                .contiguous().data<float>().ToArray();
        var (logitsDiff, logitsAbs) = MaxDiff(engineLogits, twinLogits, "logits");

        // SFT loss and gradients: three rows of different prompt and response lengths.
        var prompts = new List<int[]>();
        var responses = new List<int[]>();
        var rowsPixels = new List<float[]>();
        int[] responseLengths = [Math.Min(24, c.MaxTextLen - 12), Math.Min(9, c.MaxTextLen - 12), Math.Min(17, c.MaxTextLen - 12)];
        for (int r = 0; r < 3; r++)
        {
            var prompt = PolicyPrompt.Encode(tokenizer, new string('7', r * 3 + 1) + " + 2 = ?");
            prompts.Add(prompt.Length + responseLengths[r] <= c.MaxTextLen ? prompt : [Tokenizer.Bos]);
            responses.Add(Enumerable.Range(0, responseLengths[r]).Select(_ => g.NextInt(c.VocabSize)).ToArray());
            rowsPixels.Add(RandomPixels(c, g));
        }
        engine.zero_grad();
        var engineLoss = PolicyLogProbs.ResponseLoss(engine, rowsPixels, prompts, responses);
        engineLoss.backward();
        var engineGrads = engine.named_parameters().ToDictionary(np => np.name, np => GradOf(np.parameter));

        twin.zero_grad();
        double twinLossValue;
        using (var scope = NewDisposeScope())
        {
            var twinLoss = TwinLogProbs.ResponseLoss(twin, rowsPixels, prompts, responses);
            twinLoss.backward();
            twinLossValue = twinLoss.item<float>();
        }
        double gradDiff = 0, gradAbs = 0;
        string worst = "";
        int compared = 0;
        foreach (var (name, p) in twin.named_parameters())
        {
            if (!engineGrads.TryGetValue(name, out var eg)) throw new InvalidOperationException($"the engine has no parameter {name}");
            var tg = p.grad is null ? new float[eg.Length] : p.grad.contiguous().data<float>().ToArray();
            var (d, a) = MaxDiff(eg, tg, name);
            if (d > gradDiff) (gradDiff, worst) = (d, name);
            gradAbs = Math.Max(gradAbs, a);
            compared++;
        }
        if (compared != engineGrads.Count) throw new InvalidOperationException($"the engine has {engineGrads.Count} parameters, the twin {compared}");
        twin.zero_grad();

        return new ParityReport(Path.GetFullPath(checkpoint), logitsDiff, logitsAbs, engineLogits.Length,
            engineLoss.item<float>(), twinLossValue, gradDiff, gradAbs, worst, compared, tolerance, LibTorch.Describe());
    }

    static float[] GradOf(ETensor p) => p.grad is null ? new float[p.numel()] : p.grad.contiguous().data<float>();

    static float[] RandomPixels(MiniVlmConfig c, Engine.Generator g)
    {
        var px = new float[c.Channels * c.ImageSize * c.ImageSize];
        for (int i = 0; i < px.Length; i++) px[i] = g.NextFloat();
        return px;
    }

    /// <summary>(max |a - b|, max |a|); throws when the lengths differ (a shape mismatch is a bug, not a difference).</summary>
    internal static (double diff, double abs) MaxDiff(float[] a, float[] b, string what)
    {
        if (a.Length != b.Length) throw new InvalidOperationException($"{what}: the engine has {a.Length} values, the twin {b.Length}");
        double diff = 0, abs = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(d)) return (double.NaN, double.NaN);
            diff = Math.Max(diff, d);
            abs = Math.Max(abs, Math.Abs(a[i]));
        }
        return (diff, abs);
    }
}
