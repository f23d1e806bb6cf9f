using MMEureka.Display;

namespace MMEureka.Data;

/// <summary>An RGB colour.</summary>
public readonly record struct Rgb(byte R, byte G, byte B);

/// <summary>The palette of MiniK12 images: five named, easily told apart colours plus ink and paper.</summary>
public static class Palette
{
    public static readonly Rgb Paper = new(246, 246, 240);
    public static readonly Rgb Ink = new(30, 30, 30);
    public static readonly Rgb Grey = new(150, 150, 150);
    public static readonly Rgb Light = new(215, 225, 240);

    /// <summary>Colours with names the questions and steps use.</summary>
    public static readonly (string Name, Rgb Color)[] Named =
    [
        ("red", new Rgb(215, 40, 40)),
        ("blue", new Rgb(40, 80, 220)),
        ("green", new Rgb(30, 150, 50)),
        ("orange", new Rgb(245, 145, 20)),
        ("purple", new Rgb(140, 50, 180)),
    ];
}

/// <summary>The three shape kinds counting problems use.</summary>
public enum ShapeKind { Circle, Square, Triangle }

/// <summary>
/// A minimal rasteriser for 48x48 problem images: filled and outlined rectangles, circles and triangles, lines and
/// 3x5 text, with hard edges (no anti-aliasing, so that the same parameters always give the same bytes).
/// Everything clips at the border.
/// </summary>
public sealed class Rasterizer
{
    readonly byte[] _pixels;

    /// <summary>Image width and height in pixels.</summary>
    public int Width { get; }
    public int Height { get; }

    /// <summary>A canvas filled with the background colour.</summary>
    public Rasterizer(int width = 48, int height = 48, Rgb? background = null)
    {
        Width = width;
        Height = height;
        _pixels = new byte[width * height * 3];
        var bg = background ?? Palette.Paper;
        for (int i = 0; i < _pixels.Length; i += 3) { _pixels[i] = bg.R; _pixels[i + 1] = bg.G; _pixels[i + 2] = bg.B; }
    }

    /// <summary>Sets one pixel; silently ignores points outside the canvas.</summary>
    public void Set(int x, int y, Rgb c)
    {
        if ((uint)x >= (uint)Width || (uint)y >= (uint)Height) return;
        int i = (y * Width + x) * 3;
        _pixels[i] = c.R; _pixels[i + 1] = c.G; _pixels[i + 2] = c.B;
    }

    /// <summary>The colour at (x, y).</summary>
    public Rgb Get(int x, int y)
    {
        int i = (y * Width + x) * 3;
        return new Rgb(_pixels[i], _pixels[i + 1], _pixels[i + 2]);
    }

    /// <summary>A filled axis-aligned rectangle with top-left (x, y).</summary>
    public void FillRect(int x, int y, int w, int h, Rgb c)
    {
        for (int yy = y; yy < y + h; yy++)
            for (int xx = x; xx < x + w; xx++) Set(xx, yy, c);
    }

    /// <summary>A one-pixel rectangle outline.</summary>
    public void Rect(int x, int y, int w, int h, Rgb c)
    {
        Line(x, y, x + w - 1, y, c);
        Line(x, y + h - 1, x + w - 1, y + h - 1, c);
        Line(x, y, x, y + h - 1, c);
        Line(x + w - 1, y, x + w - 1, y + h - 1, c);
    }

    /// <summary>A filled disc: pixels whose centres lie within radius r + 0.5 of (cx, cy).</summary>
    public void FillCircle(double cx, double cy, double r, Rgb c)
    {
        double r2 = (r + 0.5) * (r + 0.5);
        for (int y = (int)Math.Floor(cy - r - 1); y <= cy + r + 1; y++)
            for (int x = (int)Math.Floor(cx - r - 1); x <= cx + r + 1; x++)
                if ((x - cx) * (x - cx) + (y - cy) * (y - cy) <= r2) Set(x, y, c);
    }

    /// <summary>A circle outline about one pixel thick.</summary>
    public void Circle(double cx, double cy, double r, Rgb c)
    {
        for (int y = (int)Math.Floor(cy - r - 1); y <= cy + r + 1; y++)
            for (int x = (int)Math.Floor(cx - r - 1); x <= cx + r + 1; x++)
            {
                double d = Math.Sqrt((x - cx) * (x - cx) + (y - cy) * (y - cy));
                if (Math.Abs(d - r) <= 0.5) Set(x, y, c);
            }
    }

    /// <summary>A filled triangle: pixel centres on the inner side of all three edges.</summary>
    public void FillTriangle((double X, double Y) a, (double X, double Y) b, (double X, double Y) p, Rgb c)
    {
        int x0 = (int)Math.Floor(Math.Min(a.X, Math.Min(b.X, p.X))), x1 = (int)Math.Ceiling(Math.Max(a.X, Math.Max(b.X, p.X)));
        int y0 = (int)Math.Floor(Math.Min(a.Y, Math.Min(b.Y, p.Y))), y1 = (int)Math.Ceiling(Math.Max(a.Y, Math.Max(b.Y, p.Y)));
        double area = Edge(a, b, p);
        if (area == 0) return;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                var q = (X: (double)x, Y: (double)y);
                double w0 = Edge(b, p, q) / area, w1 = Edge(p, a, q) / area, w2 = Edge(a, b, q) / area;
                if (w0 >= -1e-9 && w1 >= -1e-9 && w2 >= -1e-9) Set(x, y, c);
            }
    }

    static double Edge((double X, double Y) a, (double X, double Y) b, (double X, double Y) q) =>
        (b.X - a.X) * (q.Y - a.Y) - (b.Y - a.Y) * (q.X - a.X);

    /// <summary>A one-pixel line (Bresenham).</summary>
    public void Line(int x0, int y0, int x1, int y1, Rgb c)
    {
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1, err = dx + dy;
        while (true)
        {
            Set(x0, y0, c);
            if (x0 == x1 && y0 == y1) return;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// <summary>A line drawn twice, offset by one pixel across its main direction, for hands and axes that must stand out.</summary>
    public void ThickLine(int x0, int y0, int x1, int y1, Rgb c)
    {
        Line(x0, y0, x1, y1, c);
        if (Math.Abs(x1 - x0) >= Math.Abs(y1 - y0)) Line(x0, y0 + 1, x1, y1 + 1, c);
        else Line(x0 + 1, y0, x1 + 1, y1, c);
    }

    /// <summary>Text in the 3x5 font with its top-left corner at (x, y).</summary>
    public void Text(int x, int y, string text, Rgb c)
    {
        foreach (char ch in text)
        {
            for (int gy = 0; gy < BitmapFont.Height; gy++)
                for (int gx = 0; gx < BitmapFont.Width; gx++)
                    if (BitmapFont.Ink(ch, gx, gy)) Set(x + gx, y + gy, c);
            x += BitmapFont.Advance;
        }
    }

    /// <summary>Text horizontally centred on cx.</summary>
    public void TextCentered(int cx, int y, string text, Rgb c) => Text(cx - BitmapFont.MeasureWidth(text) / 2, y, text, c);

    /// <summary>A filled shape of the given kind centred at (cx, cy) inside a size x size box.</summary>
    public void Shape(ShapeKind kind, int cx, int cy, int size, Rgb c)
    {
        double h = size / 2.0;
        switch (kind)
        {
            case ShapeKind.Circle: FillCircle(cx, cy, h - 0.5, c); break;
            case ShapeKind.Square: FillRect(cx - size / 2, cy - size / 2, size, size, c); break;
            default: FillTriangle((cx, cy - h), (cx - h, cy + h - 1), (cx + h, cy + h - 1), c); break;
        }
    }

    /// <summary>A copy of the pixels as an RGB image.</summary>
    public RasterImage ToImage() => new(Width, Height, 3, (byte[])_pixels.Clone());
}
