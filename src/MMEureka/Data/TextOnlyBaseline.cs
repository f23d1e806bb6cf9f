using System.Net;
using System.Text;
using MMEureka.Display;
using MMEureka.Rewards;

namespace MMEureka.Data;

/// <summary>One family's text-only scores on the evaluated split.</summary>
/// <param name="QuestionText">Accuracy of the majority train answer for the exact question text (backing off to the family prior for unseen texts).</param>
/// <param name="FamilyPrior">Accuracy of the majority train answer per (family, answer type): the chance level for a guesser that knows only the family.</param>
public sealed record BaselineRow(string Family, int Count, double QuestionText, double FamilyPrior);

/// <summary>Per-family text-only baseline and the overall row; renders as a table in notebooks.</summary>
[TypeFormatterSource(typeof(HtmlFormatterSource))]
public sealed record BaselineReport(IReadOnlyList<BaselineRow> Rows, BaselineRow Overall) : IHtmlView
{
    /// <summary>A Markdown table (for the CLI and the dataset card).</summary>
    public string ToMarkdown()
    {
        var sb = new StringBuilder("| family | n | question text only | family prior (chance) |\n|---|---|---|---|\n");
        foreach (var r in Rows.Append(Overall)) sb.Append($"| {r.Family} | {r.Count} | {r.QuestionText:P1} | {r.FamilyPrior:P1} |\n");
        return sb.ToString();
    }

    /// <inheritdoc />
    public string ToHtml()
    {
        var sb = new StringBuilder("<table><tr><th>family</th><th>n</th><th>question text only</th><th>family prior (chance)</th></tr>");
        foreach (var r in Rows.Append(Overall))
            sb.Append($"<tr><td>{WebUtility.HtmlEncode(r.Family)}</td><td>{r.Count}</td><td>{r.QuestionText:P1}</td><td>{r.FamilyPrior:P1}</td></tr>");
        return sb.Append("</table>").ToString();
    }

    /// <inheritdoc />
    public override string ToString() => ToMarkdown();
}

/// <summary>
/// Measures how far the answer follows from the question text alone, with no image: fit the majority answer per
/// exact question text on train and score it on test, beside the family prior (majority answer per family and
/// answer type). If the images matter, the two are close: the words add nothing the family does not.
/// </summary>
public static class TextOnlyBaseline
{
    /// <summary>Fits on <paramref name="train"/>, scores on <paramref name="test"/>.</summary>
    public static BaselineReport Evaluate(IEnumerable<Problem> train, IEnumerable<Problem> test)
    {
        var byQuestion = Majority(train, p => p.Question);
        var byFamily = Majority(train, p => $"{p.Family}\n{p.AnswerType}");
        var rows = new List<BaselineRow>();
        int total = 0;
        double questionHits = 0, priorHits = 0;
        foreach (var group in test.GroupBy(p => p.Family).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            int n = 0, q = 0, f = 0;
            foreach (var p in group)
            {
                n++;
                string? prior = byFamily.GetValueOrDefault($"{p.Family}\n{p.AnswerType}");
                string? guess = byQuestion.GetValueOrDefault(p.Question) ?? prior;
                if (guess == p.Answer) q++;
                if (prior == p.Answer) f++;
            }
            rows.Add(new BaselineRow(group.Key, n, (double)q / n, (double)f / n));
            total += n;
            questionHits += q;
            priorHits += f;
        }
        var overall = new BaselineRow("all", total, total == 0 ? 0 : questionHits / total, total == 0 ? 0 : priorHits / total);
        return new BaselineReport(rows, overall);
    }

    // Ties go to the ordinally smallest answer so that the baseline is deterministic.
    static Dictionary<string, string> Majority(IEnumerable<Problem> problems, Func<Problem, string> key) =>
        problems.GroupBy(key).ToDictionary(g => g.Key, g => g.GroupBy(p => p.Answer)
            .OrderByDescending(a => a.Count()).ThenBy(a => a.Key, StringComparer.Ordinal).First().Key);
}
