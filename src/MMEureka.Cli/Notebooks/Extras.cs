using MMEureka.Torch.Blas;

namespace MMEureka.Cli.Notebooks;

/// <summary>
/// The optional extras of environment/setup.sh that a notebook run would use, and what each adds; the run names the
/// absent ones once, in one line, and works without them.
/// </summary>
public static class Extras
{
    /// <summary>One line naming the absent extras and what they would add, or null when all are present.</summary>
    public static string? Missing(string notebookFolder, bool inPlace)
    {
        var gains = new List<string>();
        if (!OpenBlas.IsAvailable) gains.Add("OpenBLAS (faster large matrix products; the managed kernel runs instead)");
        if (HtmlReport.FindOfflinePlotly(notebookFolder) is null) gains.Add("offline plotly.js (reports load it from the CDN)");
        if (ChartPictures.Find(notebookFolder, out _) is null && HtmlReport.FindOfflinePlotly(notebookFolder) is not null)
            gains.Add(inPlace ? "Chromium (charts get no static picture for GitHub)" : "Chromium (static chart pictures with --in-place)");
        return gains.Count == 0 ? null : $"optional extras absent: {string.Join("; ", gains)}. bash environment/setup.sh adds them.";
    }
}
