using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using MMEureka.Cli.Notebooks;
using MMEureka.Display;
using MMEureka.Reproduce;
using MMEureka.Rl;
using MMEureka.Runs;
using Plotly.NET;

namespace MMEureka.Cli.Reproduce;

/// <summary>
/// report.html of <c>mmeureka reproduce</c>: per paper, its results table (claim, the paper's number, ours, verdict
/// and why) and its headline charts, drawn from the same run folders; then the stages with their wall times.
/// plotly.js is inlined when the offline copy exists (environment/setup.sh), else loaded from the CDN.
/// </summary>
internal static class Report
{
    /// <summary>Writes the page atomically.</summary>
    public static void Write(string path, string preset, string runs, IReadOnlyList<ResultRow> rows, JsonObject stages)
    {
        var body = new StringBuilder();
        body.Append($"<h1>MMEureka.Notebooks: three papers at toy scale ({Enc(preset)} preset)</h1>\n");
        body.Append("<p>Each row is one claim of a paper, the paper's own number, ours on MiniK12 with MiniVlm, and whether the ")
            .Append("phenomenon reproduced at this scale. Verdicts follow the fixed rule written in each row; the notebook named in ")
            .Append("the last column explains the experiment and shows more.</p>\n");
        foreach (var paper in new[] { "MM-Eureka", "CPGD", "MM-PRM" })
        {
            body.Append($"<h2>{paper}</h2>\n").Append(Table(rows.Where(r => r.Paper == paper).ToList()));
            foreach (var chart in Charts(paper, preset, runs))
                body.Append("<div class=\"chart\">").Append(ChartView.Html(chart)).Append("</div>\n");
        }
        body.Append("<h2>Stages</h2>\n<table><tr><th>stage</th><th>status</th><th>minutes</th><th>folder</th></tr>\n");
        foreach (var (name, node) in stages)
        {
            double? seconds = (double?)node?["seconds"];
            body.Append($"<tr><td>{Enc(name)}</td><td>{Enc((string?)node?["status"] ?? "")}</td><td>{(seconds is { } s ? (s / 60).ToString("F1", CultureInfo.InvariantCulture) : "")}</td>" +
                        $"<td>{Enc((string?)node?["folder"] ?? "")}</td></tr>\n");
        }
        body.Append("</table>\n");

        string page = $$"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>MMEureka.Notebooks results ({{Enc(preset)}})</title>
            <style>
            body { font-family: system-ui, sans-serif; max-width: 1150px; margin: 2em auto; padding: 0 1em; color: #222; }
            table { border-collapse: collapse; margin: 1em 0; font-size: 14px; }
            th, td { border: 1px solid #ccc; padding: .35em .6em; text-align: left; vertical-align: top; }
            th { background: #f0f3f8; }
            td.yes { background: #dff3df; } td.partly { background: #fff4d6; } td.no { background: #fadcdc; } td.not-run { background: #eee; }
            .chart { margin: 1em 0; }
            </style>
            {{HtmlReport.PlotlyHead(HtmlReport.FindOfflinePlotly(AppContext.BaseDirectory) ?? HtmlReport.FindOfflinePlotly(Directory.GetCurrentDirectory()))}}</head>
            <body>
            {{body}}</body>
            </html>
            """;
        RunFolder.WriteAtomically(path, page);
    }

    private static string Table(IReadOnlyList<ResultRow> rows)
    {
        var sb = new StringBuilder("<table><tr><th>claim</th><th>paper</th><th>ours (toy scale)</th><th>reproduced</th><th>why</th><th>notebook</th></tr>\n");
        foreach (var r in rows)
        {
            string verdict = Results.VerdictName(r.Verdict);
            sb.Append($"<tr><td>{Enc(r.Claim)}</td><td>{Enc(r.PaperNumber)}</td><td>{Enc(r.Ours)}</td><td class=\"{verdict.Replace(' ', '-')}\">{verdict}</td>" +
                      $"<td>{Enc(r.Why)}</td><td>{Enc(r.Notebook)}</td></tr>\n");
        }
        return sb.Append("</table>\n").ToString();
    }

    private static IEnumerable<GenericChart> Charts(string paper, string preset, string runs)
    {
        string Dir(string name) => Path.Combine(runs, name);
        (string, IReadOnlyList<double>, IReadOnlyList<double>)? S(string name, string dir, string key) =>
            Results.Metrics(dir) is { } m && RunFolder.Series(m, key) is var (x, y) && y.Length > 0 ? (name, x, y) : null;
        GenericChart? Curves(string title, string y, IEnumerable<(string, IReadOnlyList<double>, IReadOnlyList<double>)?> series)
        {
            var present = series.Where(s => s is not null).Select(s => s!.Value).ToArray();
            return present.Length == 0 ? null : Display.Charts.Curves(title, present, xTitle: "step", yTitle: y);
        }

        var charts = new List<GenericChart?>();
        switch (paper)
        {
            case "MM-Eureka":
                string[] algos = ["grpo", "cpgd", "mm_eureka", "mm_eureka-nofilter", "mm_eureka-kl0.01"];
                charts.Add(Curves("Greedy test accuracy during RL", "accuracy", algos.Select(a => S(a, Dir($"rl-{a}-{preset}"), "eval_accuracy"))));
                string main = Dir($"rl-mm_eureka-{preset}");
                charts.Add(Curves("MM-Eureka recipe: accuracy reward of the rollouts", "accuracy", [S("filter on", main, "accuracy"), S("filter off", Dir($"rl-mm_eureka-nofilter-{preset}"), "accuracy")]));
                charts.Add(Curves("Mean response length of the rollouts", "tokens", algos.Skip(2).Select(a => S(a, Dir($"rl-{a}-{preset}"), "completion_length"))));
                break;
            case "CPGD":
                string sweep = Dir("sweep-" + Results.SweepPreset(preset));
                var runDirs = Results.SweepRunDirs(sweep);
                var summary = SweepSummary.Read(runDirs);
                foreach (var (key, title, y) in new[] { ("eval_accuracy", "Stress sweep: greedy test accuracy (mean over seeds)", "accuracy"), ("ratio_max", "Stress sweep: largest importance ratio (mean over seeds)", "ratio") })
                {
                    var series = summary.Runs.Select(r => r.Algo).Distinct().Select(algo =>
                    {
                        var each = runDirs.Where(d => Path.GetFileName(d).StartsWith(algo + "-s", StringComparison.Ordinal)).Select(d => S(algo, d, key)).Where(s => s is not null).Select(s => s!.Value).ToList();
                        if (each.Count == 0) return ((string, IReadOnlyList<double>, IReadOnlyList<double>)?)null;
                        int n = each.Min(s => s.Item3.Count);
                        return (algo, each[0].Item2.Take(n).ToArray(), Enumerable.Range(0, n).Select(i => each.Average(s => s.Item3[i])).ToArray());
                    });
                    var chart = Curves(title, y, series);
                    charts.Add(key == "ratio_max" ? chart?.WithAxes(logY: true) : chart);
                }
                break;
            case "MM-PRM":
                string table = Path.Combine(Dir($"bon-{preset}-test"), "table.json");
                if (File.Exists(table) && JsonNode.Parse(File.ReadAllText(table)) is JsonObject t && t["n"] is JsonArray ns && t["accuracy"] is JsonObject acc)
                {
                    var x = ns.Select(v => (double)v!).ToArray();
                    charts.Add(Display.Charts.Line($"Best-of-N on {(int?)t["problems"]} test problems (soft-label PRM)", x,
                        acc.Select(kv => (kv.Key, (IReadOnlyList<double>)kv.Value!.AsArray().Select(v => (double)v!).ToArray())).ToArray(),
                        xTitle: "N (candidates)", yTitle: "accuracy", logX: true));
                }
                charts.Add(Curves("PRM held-out ProcessBench F1", "F1", [S("soft labels", Dir($"prm-{preset}-soft"), "eval_f1"), S("hard labels", Dir($"prm-{preset}-hard"), "eval_f1")]));
                break;
        }
        return charts.Where(c => c is not null)!;
    }

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
