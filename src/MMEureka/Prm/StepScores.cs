using MMEureka.Models;
using MMEureka.Torch;
using static MMEureka.Torch.torch;

namespace MMEureka.Prm;

/// <summary>
/// The PRM's reading of a batch of <see cref="PrmInput"/>s through the policy's teacher-forced path
/// (<see cref="PolicyLogProbs.TextLogits"/>): at every <c>&lt;prm&gt;</c> tag, the logits of <c>&lt;yes&gt;</c> and
/// <c>&lt;no&gt;</c> produced at the tag's position. A step's score is softmax over those two, taking yes, which
/// is sigmoid(z_yes - z_no); the training loss is the cross-entropy of the two logits against [label, 1 - label],
/// which is BCE(z_yes - z_no, label) with gradient sigmoid(z_yes - z_no) - label (PAPERS.md section 3).
/// </summary>
public static class StepScores
{
    /// <summary>
    /// z_yes - z_no at every tag of the batch, with gradients: a [total tags] tensor, the tags of input 0 first, in
    /// order. Inputs without a tag contribute nothing.
    /// </summary>
    public static Tensor Margins(MiniVlm model, IReadOnlyList<PrmInput> batch)
    {
        if (batch.Count == 0) throw new ArgumentException("empty PRM batch");
        // One filler token after each response: TextLogits' row j + 1 is read at text position j, so the row that
        // reads the last tag exists only when something follows it. Under the causal mask the filler changes nothing.
        var responses = batch.Select(b => (int[])[.. b.Response, Tokenizer.Pad]).ToList();
        var prompts = batch.Select(b => b.Prompt).ToList();
        var (logits, length) = PolicyLogProbs.TextLogits(model, batch.Select(b => b.Pixels).ToList(), prompts, responses, 1f);
        return MarginsAt(logits, TagRows(batch, length));
    }

    /// <summary>z_yes - z_no of the given rows of a [rows, vocab] logits tensor, with gradients.</summary>
    public static Tensor MarginsAt(Tensor logits, int[] rows)
    {
        if (rows.Length == 0) return zeros(0);
        var atTags = logits.index_select(0, rows);
        return (atTags.index_select(1, [Tokenizer.Yes]) - atTags.index_select(1, [Tokenizer.No])).view(rows.Length);
    }

    /// <summary>Row of <see cref="PolicyLogProbs.TextLogits"/>' output that is read at each tag: row r * T + j + 1
    /// for the tag at text index j = prompt + tag index.</summary>
    public static int[] TagRows(IReadOnlyList<PrmInput> batch, int length)
    {
        var rows = new List<int>();
        for (int r = 0; r < batch.Count; r++)
            foreach (var k in batch[r].TagIndices)
                rows.Add(r * length + batch[r].Prompt.Length + k + 1);
        return [.. rows];
    }

    /// <summary>
    /// Mean over tags of the cross-entropy of (z_yes, z_no) against [label, 1 - label], from the margins
    /// z_yes - z_no: mean of softplus(m) - label * m, i.e. BCE with logits (MM-PRM's loss; soft labels allowed).
    /// </summary>
    public static Tensor Loss(Tensor margins, IReadOnlyList<float> labels)
    {
        if (margins.numel() != labels.Count) throw new ArgumentException($"{labels.Count} labels for {margins.numel()} tags");
        if (labels.Count == 0) throw new ArgumentException("no tags in the batch (every path was cut to nothing)");
        return nn.functional.binary_cross_entropy_with_logits(margins, tensor([.. labels], [labels.Count]));
    }

    /// <summary>Step probabilities p(yes) of each input (no gradients), <paramref name="batchSize"/> inputs per
    /// forward pass; computed in double from the float margins.</summary>
    public static double[][] Score(MiniVlm model, IReadOnlyList<PrmInput> inputs, int batchSize = 32, Action<int>? progress = null)
    {
        if (batchSize <= 0) throw new ArgumentException($"batch size must be positive, got {batchSize}");
        var scores = new double[inputs.Count][];
        // Batches of similar length waste less on padding; each input's scores do not depend on its batch.
        var order = Enumerable.Range(0, inputs.Count).OrderBy(i => inputs[i].Prompt.Length + inputs[i].Response.Length).ThenBy(i => i).ToArray();
        using var _ = no_grad();
        for (int start = 0; start < inputs.Count; start += batchSize)
        {
            var chunk = order.Skip(start).Take(batchSize).ToList();
            var m = Margins(model, chunk.Select(i => inputs[i]).ToList()).data<float>();
            int at = 0;
            foreach (var i in chunk)
            {
                var s = new double[inputs[i].ScoredSteps];
                for (int k = 0; k < s.Length; k++) s[k] = Sigmoid(m[at++]);
                scores[i] = s;
            }
            progress?.Invoke(Math.Min(start + batchSize, inputs.Count));
        }
        return scores;
    }

    /// <summary>1 / (1 + e^-x) without overflow.</summary>
    public static double Sigmoid(double x) => x >= 0 ? 1 / (1 + Math.Exp(-x)) : Math.Exp(x) / (1 + Math.Exp(x));
}
