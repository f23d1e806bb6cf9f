using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Middle-school statistics: read two-digit values off a labelled bar chart and add or subtract them.</summary>
internal static class BarChart
{
    public static readonly FamilyInfo Info = new("bar_chart", "statistics", "middle",
        "bar values", (10, 49), (50, 99), Generate);

    static readonly string[] Labels = ["A", "B", "C", "D"];

    static Draft Generate(Rng rng, bool ood)
    {
        var (lo, hi) = ood ? (50, 99) : (10, 49);
        var values = rng.Sample(hi - lo + 1, 4).Select(v => v + lo).ToArray();
        int max = values.Max();
        var color = rng.Pick(Palette.Named).Color;
        var canvas = new Rasterizer();
        const int baseline = 40;
        canvas.Line(1, baseline, 46, baseline, Palette.Ink);
        for (int i = 0; i < 4; i++)
        {
            int x = 3 + i * 11, height = 4 + (int)Math.Round(22.0 * values[i] / max);
            canvas.FillRect(x, baseline - height, 9, height, color);
            canvas.TextCentered(x + 5, baseline - height - 6, values[i].ToString(), Palette.Ink);
            canvas.TextCentered(x + 5, baseline + 2, Labels[i], Palette.Ink);
        }
        string question;
        string[] steps;
        int answer;
        bool sum = rng.Next(2) == 0;
        if (sum)
        {
            var pair = rng.Sample(4, 2).Order().ToArray();
            int a = values[pair[0]], b = values[pair[1]];
            answer = a + b;
            question = $"What is the sum of bars {Labels[pair[0]]} and {Labels[pair[1]]}?";
            steps = [$"{Labels[pair[0]]} = {a}", $"{Labels[pair[1]]} = {b}", $"{a} + {b} = {answer}"];
        }
        else
        {
            int top = Array.IndexOf(values, max), low = Array.IndexOf(values, values.Min());
            answer = max - values[low];
            question = "What is the tallest bar minus the shortest?";
            steps = [$"tallest: {Labels[top]} = {max}", $"shortest: {Labels[low]} = {values[low]}", $"{max} - {values[low]} = {answer}"];
        }
        return new Draft(question, answer, AnswerType.Integer, steps, canvas.ToImage(), values,
            1, ChoiceMin: 0, Variant: sum ? "sum" : "range");
    }
}
