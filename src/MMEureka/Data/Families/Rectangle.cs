using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Middle-school measurement: area or perimeter of a rectangle whose side lengths are written beside it.</summary>
internal static class Rectangle
{
    public static readonly FamilyInfo Info = new("rectangle", "geometry", "middle",
        "side lengths", (2, 9), (10, 19), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        var (lo, hi) = ood ? (10, 19) : (2, 9);
        int w = rng.Int(lo, hi), h = rng.Int(lo, hi);
        // Drawn roughly to scale within its own range, so the labels, not the pixels, carry the numbers.
        int pw = 12 + (w - lo) * 22 / (hi - lo), ph = 10 + (h - lo) * 20 / (hi - lo);
        int x0 = 3 + rng.Int(0, 1), y0 = 3 + rng.Int(0, 2);
        var canvas = new Rasterizer();
        canvas.FillRect(x0, y0, pw, ph, Palette.Light);
        canvas.Rect(x0, y0, pw, ph, Palette.Ink);
        canvas.TextCentered(x0 + pw / 2, y0 + ph + 2, w.ToString(), Palette.Named[1].Color);
        canvas.Text(x0 + pw + 2, y0 + ph / 2 - 2, h.ToString(), Palette.Named[1].Color);
        string[] sides = [$"width = {w}", $"height = {h}"];
        bool area = rng.Next(2) == 0;
        int answer = area ? w * h : 2 * (w + h);
        string[] steps = area ? [.. sides, $"{w} x {h} = {answer}"] : [.. sides, $"{w} + {h} = {w + h}", $"2 x {w + h} = {answer}"];
        return new Draft($"What is the {(area ? "area" : "perimeter")} of the rectangle?", answer, AnswerType.Integer, steps,
            canvas.ToImage(), [w, h], area ? 1 : 2, ChoiceMin: 1, Variant: area ? "area" : "perimeter");
    }
}
