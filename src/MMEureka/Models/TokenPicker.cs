using static MMEureka.Torch.torch;

namespace MMEureka.Models;

/// <summary>
/// Picks one token from one row of logits: greedy, or temperature + top-k + top-p (nucleus) sampling.
/// The reported log-probability is that of the unfiltered distribution softmax(logits / T) (T = 1 when greedy),
/// which is what <see cref="PolicyLogProbs"/> recomputes and what RL ratios compare against.
/// </summary>
public static class TokenPicker
{
    /// <summary>Chooses a token id from <paramref name="logits"/> and returns it with its log-probability.</summary>
    public static int Pick(ReadOnlySpan<float> logits, SamplingConfig config, Generator generator, out float logProb)
    {
        int v = logits.Length;
        float t = config.IsGreedy ? 1f : config.Temperature;
        // log-softmax of logits / T in double for a stable normaliser.
        double max = double.NegativeInfinity;
        for (int i = 0; i < v; i++) max = Math.Max(max, logits[i] / (double)t);
        // The exponentials are kept for the draw (this thread's buffer: the sampler picks for its rows on several threads).
        var exps = _exps is { } buffer && buffer.Length >= v ? buffer : _exps = new double[v];
        double sum = 0;
        for (int i = 0; i < v; i++) sum += exps[i] = Math.Exp(logits[i] / (double)t - max);
        double logZ = max + Math.Log(sum);

        int chosen;
        if (config.IsGreedy)
        {
            chosen = 0;
            for (int i = 1; i < v; i++) if (logits[i] > logits[chosen]) chosen = i;
        }
        else chosen = Draw(exps, v, sum, config, generator);
        logProb = (float)(logits[chosen] / (double)t - logZ);
        return chosen;
    }

    [ThreadStatic] private static double[]? _exps;

    /// <summary>Draws one of <paramref name="v"/> tokens from exp(logits / T - max) / sum, given those exponentials in
    /// <paramref name="exps"/>[0, v) (overwritten).</summary>
    private static int Draw(double[] exps, int v, double sum, SamplingConfig config, Generator generator)
    {
        var probs = exps;
        for (int i = 0; i < v; i++) probs[i] = exps[i] / sum;

        bool filter = (config.TopK > 0 && config.TopK < v) || config.TopP < 1f;
        if (filter)
        {
            // Rank by probability (ties by id so the order is deterministic), then keep a prefix of the ranking.
            var order = new int[v];
            for (int i = 0; i < v; i++) order[i] = i;
            Array.Sort(order, (a, b) => probs[a] != probs[b] ? probs[b].CompareTo(probs[a]) : a.CompareTo(b));
            int keep = config.TopK > 0 ? Math.Min(config.TopK, v) : v;
            if (config.TopP < 1f)
            {
                double cum = 0;
                int n = 0;
                while (n < keep)
                {
                    cum += probs[order[n]];
                    n++;
                    if (cum >= config.TopP) break;
                }
                keep = n;
            }
            var kept = new double[v];
            for (int r = 0; r < keep; r++) kept[order[r]] = probs[order[r]];
            probs = kept;
        }

        double total = 0;
        for (int i = 0; i < v; i++) total += probs[i];
        double u = generator.NextDouble() * total;
        int last = -1;
        for (int i = 0; i < v; i++)
        {
            if (probs[i] <= 0) continue;
            last = i;
            u -= probs[i];
            if (u < 0) return i;
        }
        return last; // rounding left u >= 0 after the final kept token
    }
}
