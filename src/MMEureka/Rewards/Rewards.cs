namespace MMEureka.Rewards;

/// <summary>One response's rule-based reward: accuracy (0 or 1) plus format (0 or 0.5), and the answer text read.</summary>
public sealed record RewardResult(double Accuracy, double Format, string? Extracted)
{
    /// <summary>The scalar the advantages use: accuracy + format (MM-Eureka sums the two).</summary>
    public double Total => Accuracy + Format;
}

/// <summary>
/// MM-Eureka's rule-based reward (PAPERS.md section 1). Accuracy: 1 when the answer read from the response is
/// equivalent to the gold answer (<see cref="Verifier"/>). Format: 0.5 when the response is exactly
/// <c>&lt;think&gt;…&lt;/think&gt;</c>, optional whitespace, <c>&lt;answer&gt;…&lt;/answer&gt;</c> with each tag once.
/// Note for callers inside the MMEureka namespace: <c>Rewards</c> alone names this namespace there; write
/// <c>MMEureka.Rewards.Rewards</c> or add <c>using RuleRewards = MMEureka.Rewards.Rewards;</c>.
/// </summary>
public static class Rewards
{
    const string ThinkOpen = "<think>", ThinkClose = "</think>", AnswerOpen = "<answer>", AnswerClose = "</answer>";

    /// <summary>The format reward's value when the response is well formed.</summary>
    public const double FormatScore = 0.5;

    /// <summary>
    /// The answer text, as MM-Eureka's code reads it: the content of the first <c>&lt;answer&gt;…&lt;/answer&gt;</c>;
    /// otherwise the text after the last <c>&lt;answer&gt;</c>. Like the original's <c>split("&lt;answer&gt;")[-1]</c>,
    /// a response without any answer tag yields the whole response (the format reward is what penalises that).
    /// </summary>
    public static string ExtractAnswer(string response)
    {
        int open = response.IndexOf(AnswerOpen, StringComparison.Ordinal);
        if (open >= 0)
        {
            int close = response.IndexOf(AnswerClose, open + AnswerOpen.Length, StringComparison.Ordinal);
            if (close >= 0) return response[(open + AnswerOpen.Length)..close].Trim();
        }
        int last = response.LastIndexOf(AnswerOpen, StringComparison.Ordinal);
        return (last >= 0 ? response[(last + AnswerOpen.Length)..] : response).Trim();
    }

    /// <summary>1 when the extracted answer is equivalent to the gold answer, else 0. Throws on an unparseable gold answer.</summary>
    public static double Accuracy(string response, string gold, AnswerType type, IReadOnlyList<string>? choices = null) =>
        Verifier.IsEquivalent(gold, ExtractAnswer(response), type, choices) ? 1.0 : 0.0;

    /// <summary>
    /// 0.5 when the response has exactly one of each of the four tags and fully matches
    /// <c>&lt;think&gt;.*&lt;/think&gt;\s*&lt;answer&gt;.*&lt;/answer&gt;</c>, else 0. Decision: like the original's
    /// <c>re.fullmatch</c>, nothing (not even whitespace) may come before <c>&lt;think&gt;</c> or after <c>&lt;/answer&gt;</c>.
    /// </summary>
    public static double Format(string response)
    {
        if (Count(response, ThinkOpen) != 1 || Count(response, ThinkClose) != 1 ||
            Count(response, AnswerOpen) != 1 || Count(response, AnswerClose) != 1) return 0;
        if (!response.StartsWith(ThinkOpen, StringComparison.Ordinal) || !response.EndsWith(AnswerClose, StringComparison.Ordinal)) return 0;
        int thinkClose = response.IndexOf(ThinkClose, StringComparison.Ordinal);
        int answerOpen = response.IndexOf(AnswerOpen, StringComparison.Ordinal);
        if (answerOpen < thinkClose + ThinkClose.Length) return 0;
        return response.AsSpan(thinkClose + ThinkClose.Length, answerOpen - thinkClose - ThinkClose.Length).IsWhiteSpace() ? FormatScore : 0;
    }

    /// <summary>Both rewards and the extracted answer.</summary>
    public static RewardResult Score(string response, string gold, AnswerType type, IReadOnlyList<string>? choices = null) =>
        new(Accuracy(response, gold, type, choices), Format(response), ExtractAnswer(response));

    static int Count(string s, string tag)
    {
        int n = 0;
        for (int i = s.IndexOf(tag, StringComparison.Ordinal); i >= 0; i = s.IndexOf(tag, i + tag.Length, StringComparison.Ordinal)) n++;
        return n;
    }
}
