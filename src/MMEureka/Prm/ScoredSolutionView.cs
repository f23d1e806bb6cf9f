using System.Globalization;
using System.Text;
using MMEureka.Data;
using MMEureka.Display;

namespace MMEureka.Prm;

/// <summary>
/// A solution beside its image with each step coloured by its PRM score (red for 0, through yellow, to green for 1)
/// and the score printed after it, so that the step a PRM distrusts stands out. For notebooks.
/// </summary>
public static class ScoredSolutionView
{
    /// <summary>One card: the image (scaled), the question, the coloured steps, the verdict of the verifier.</summary>
    public static Html Card(Problem problem, Solution solution, IReadOnlyList<double> scores, bool correct, string? title = null)
    {
        var sb = new StringBuilder("<div style=\"display:flex;gap:12px;align-items:flex-start;margin:6px 0;font-family:monospace;font-size:13px\">");
        if (problem.Image != null) sb.Append(new ImageView(problem.Image, null, scale: 3).ToHtml());
        sb.Append("<div>");
        if (title != null) sb.Append("<b>").Append(HtmlText.Escape(title)).Append("</b><br>");
        sb.Append(HtmlText.Escape(problem.Question)).Append("<br>");
        var steps = solution.Thoughts.Concat(solution.Answer is { } a ? [$"answer: {a}"] : []).ToList();
        for (int i = 0; i < steps.Count; i++)
        {
            string score = i < scores.Count ? scores[i].ToString("F2", CultureInfo.InvariantCulture) : "-";
            string colour = i < scores.Count ? Colour(scores[i]) : "#ddd";
            sb.Append($"<div style=\"background:{colour};padding:1px 4px;margin:1px 0\">{HtmlText.Escape(steps[i])} <span style=\"float:right;padding-left:16px\">{score}</span></div>");
        }
        sb.Append($"gold {HtmlText.Escape(problem.Answer)}: {(correct ? "correct ✓" : "wrong ✗")}</div></div>");
        return new Html(sb.ToString());
    }

    /// <summary>Light red (0) to light yellow (0.5) to light green (1).</summary>
    public static string Colour(double score)
    {
        double s = Math.Clamp(double.IsNaN(score) ? 0.5 : score, 0, 1);
        int r = s < 0.5 ? 255 : (int)Math.Round(255 - (s - 0.5) * 2 * 95);
        int g = s < 0.5 ? (int)Math.Round(160 + s * 2 * 95) : 255;
        return $"rgb({r},{g},160)";
    }
}
