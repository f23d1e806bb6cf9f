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
        double sum = 0;
        for (int i = 0; i < v; i++) sum += Math.Exp(logits[i] / (double)t - max);
        double logZ = max + Math.Log(sum);

        int chosen;
        if (config.IsGreedy)
        {
            chosen = 0;
            for (int i = 1; i < v; i++) if (logits[i] > logits[chosen]) chosen = i;
        }
        else chosen = Draw(logits, t, max, sum, config, generator);
        logProb = (float)(logits[chosen] / (double)t - logZ);
        return chosen;
    }

    private static int Draw(ReadOnlySpan<float> logits, float t, double max, double sum, SamplingConfig config, Generator generator)
    {
        int v = logits.Length;
        var probs = new double[v];
        for (int i = 0; i < v; i++) probs[i] = Math.Exp(logits[i] / (double)t - max) / sum;

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
