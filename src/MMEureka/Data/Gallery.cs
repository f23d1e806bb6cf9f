using System.Net;
using System.Text;
using MMEureka.Display;

namespace MMEureka.Data;

/// <summary>
/// Problems as cards: the 48x48 image scaled up with crisp pixels, the question, the gold steps and the answer.
/// All text is HTML-escaped.
/// </summary>
[TypeFormatterSource(typeof(HtmlFormatterSource))]
public sealed class Gallery(IEnumerable<Problem> problems, int scale = 4, string? title = null) : IHtmlView
{
    readonly Problem[] _problems = problems.ToArray();

    /// <summary>Up to <paramref name="perFamily"/> problems of each family, in family order.</summary>
    public static Gallery ByFamily(IEnumerable<Problem> problems, int perFamily = 2, int scale = 4) =>
        new(problems.GroupBy(p => p.Family).SelectMany(g => g.Take(perFamily)), scale);

    /// <inheritdoc />
    public string ToHtml()
    {
        var sb = new StringBuilder();
        if (title is not null) sb.Append($"<h4>{WebUtility.HtmlEncode(title)}</h4>");
        sb.Append("<div style=\"display:flex;flex-wrap:wrap;gap:10px;font-family:sans-serif;font-size:12px\">");
        foreach (var p in _problems)
        {
            sb.Append("<div style=\"border:1px solid #ccc;border-radius:6px;padding:8px;width:")
              .Append(Math.Max(200, 48 * scale + 16)).Append("px\">");
            if (p.Image is { } image)
                sb.Append($"<img src=\"{Png.ToDataUri(image)}\" width=\"{image.Width * scale}\" height=\"{image.Height * scale}\" ")
                  .Append("style=\"image-rendering:pixelated;image-rendering:crisp-edges;display:block\" alt=\"problem image\"/>");
            sb.Append($"<div style=\"color:#666\">{Enc(p.Id)} · {Enc(p.Family)} · {Enc(p.Level)}</div>");
            sb.Append($"<div style=\"margin:4px 0\"><b>{Enc(p.Question)}</b></div>");
            sb.Append($"<pre style=\"margin:0;white-space:pre-wrap\">{Enc(string.Join('\n', p.SolutionSteps))}</pre>");
            sb.Append($"<div>answer: <b>{Enc(p.Answer)}</b> <span style=\"color:#666\">({Enc(p.AnswerType.ToString())})</span></div>");
            sb.Append("</div>");
        }
        return sb.Append("</div>").ToString();
    }

    /// <inheritdoc />
    public override string ToString() => $"Gallery of {_problems.Length} problems";

    static string Enc(string s) => WebUtility.HtmlEncode(s);
}
