namespace MMEureka.Prm;

/// <summary>
/// A response cut into the steps MM-PRM labels: each line inside <c>&lt;think&gt;…&lt;/think&gt;</c> is one
/// thought step, and the final answer is the last step (judged by the verifier, never by rollouts). The text of
/// the first j thoughts, <see cref="Prefix"/>, is what a Monte Carlo rollout continues from: it stops right after
/// step j, so the policy itself chooses between a newline (another step) and <c>&lt;/think&gt;</c>.
/// </summary>
/// <param name="Thoughts">The lines of the reasoning span, in order (empty lines dropped).</param>
/// <param name="Answer">The content of <c>&lt;answer&gt;…&lt;/answer&gt;</c>, or null when the response has none
/// (cut off, or a training path that ends at a wrong thought).</param>
public sealed record Solution(IReadOnlyList<string> Thoughts, string? Answer)
{
    /// <summary>Steps to label: the thoughts, plus the answer when there is one.</summary>
    public int StepCount => Thoughts.Count + (Answer != null ? 1 : 0);

    /// <summary>
    /// Cuts a response into steps. The reasoning span runs from the first <c>&lt;think&gt;</c> to the next
    /// <c>&lt;/think&gt;</c> (or to <c>&lt;answer&gt;</c> / the end when it is never closed); the answer is the
    /// content of the first complete <c>&lt;answer&gt;…&lt;/answer&gt;</c>.
    /// </summary>
    public static Solution Parse(string response)
    {
        const string open = "<think>", close = "</think>", answerOpen = "<answer>", answerClose = "</answer>";
        int start = response.IndexOf(open, StringComparison.Ordinal);
        var thoughts = new List<string>();
        if (start >= 0)
        {
            start += open.Length;
            int end = response.IndexOf(close, start, StringComparison.Ordinal);
            if (end < 0) end = response.IndexOf(answerOpen, start, StringComparison.Ordinal);
            if (end < 0) end = response.Length;
            foreach (var line in response[start..end].Split('\n'))
                if (line.Trim().Length > 0) thoughts.Add(line);
        }
        string? answer = null;
        int a = response.IndexOf(answerOpen, StringComparison.Ordinal);
        if (a >= 0)
        {
            int b = response.IndexOf(answerClose, a + answerOpen.Length, StringComparison.Ordinal);
            if (b >= 0) answer = response[(a + answerOpen.Length)..b];
        }
        return new Solution(thoughts, answer);
    }

    /// <summary>The response text up to and including thought <paramref name="thoughts"/> (0: just
    /// <c>&lt;think&gt;</c>), with no separator after it.</summary>
    public string Prefix(int thoughts)
    {
        if (thoughts < 0 || thoughts > Thoughts.Count)
            throw new ArgumentOutOfRangeException(nameof(thoughts), thoughts, $"a solution of {Thoughts.Count} thoughts has prefixes 0..{Thoughts.Count}");
        return "<think>" + string.Join('\n', Thoughts.Take(thoughts));
    }

    /// <summary>The whole response in MM-Eureka's format (the answer tags only when there is an answer).</summary>
    public string Response => Prefix(Thoughts.Count) + "</think>" + (Answer != null ? $"<answer>{Answer}</answer>" : "");
}
