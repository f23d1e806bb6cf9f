using MMEureka.Rewards;

namespace MMEureka.Data.Families;

/// <summary>Middle-school integers: the value of a dot on a number line with ten ticks and labelled ends.</summary>
internal static class NumberLine
{
    public static readonly FamilyInfo Info = new("number_line", "numbers", "middle",
        "|value| (train: tick 1, ends within -10..10; OOD: tick 2, |value| 12-20, even)", (0, 10), (12, 20), Generate);

    static Draft Generate(Rng rng, bool ood)
    {
        int left, tick, ticks;
        if (!ood) { tick = 1; left = rng.Int(-10, 0); ticks = rng.Int(0, 10); }
        else
        {
            tick = 2;
            do { left = 2 * rng.Int(-10, 0); ticks = rng.Int(0, 10); } while (Math.Abs(left + tick * ticks) < 11);
        }
        int right = left + 10 * tick, value = left + tick * ticks;
        int y = rng.Int(18, 26);
        var canvas = new Rasterizer();
        canvas.Line(2, y, 46, y, Palette.Ink);
        for (int t = 0; t <= 10; t++)
        {
            int x = 4 + 4 * t, h = t is 0 or 10 ? 3 : 2;
            canvas.Line(x, y - h, x, y + h, Palette.Ink);
        }
        canvas.Text(1, y + 5, left.ToString(), Palette.Ink);
        canvas.Text(48 - BitmapFont.MeasureWidth(right.ToString()), y + 5, right.ToString(), Palette.Ink);
        canvas.FillCircle(4 + 4 * ticks, y - 6, 2, Palette.Named[0].Color);
        string[] steps =
        [
            $"ends: {left} and {right}",
            $"each tick: {right - left}/10 = {tick}",
            $"dot: {ticks} ticks from {left}",
            $"{left} + {ticks} x {tick} = {value}",
        ];
        return new Draft("What number does the red dot mark?", value, AnswerType.Integer, steps, canvas.ToImage(),
            [Math.Abs(value)], tick);
    }
}
