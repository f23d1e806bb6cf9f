using System.Text;

namespace MMEureka.Display;

/// <summary>
/// One image or a captioned grid of images, embedded as PNG data URIs and scaled up by an integer factor with
/// nearest-neighbour sampling (CSS <c>image-rendering: pixelated</c>), so 48x48 training images stay crisp.
/// </summary>
[TypeFormatterSource(typeof(HtmlFormatterSource))]
public sealed class ImageView : IHtmlView
{
    readonly (RasterImage Image, string? Caption)[] items;

    /// <summary>One image, optionally captioned, drawn <paramref name="scale"/> times its pixel size.</summary>
    public ImageView(RasterImage image, string? caption = null, int scale = 4)
        : this([(image, caption)], columns: 1, scale, title: null) { }

    ImageView((RasterImage, string?)[] items, int columns, int scale, string? title)
    {
        if (items.Length == 0) throw new ArgumentException("ImageView needs at least one image");
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), scale, "scale must be at least 1");
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns), columns, "columns must be at least 1");
        foreach (var (image, _) in items) image.Validate();
        this.items = items;
        Columns = Math.Min(columns, items.Length);
        Scale = scale;
        Title = title;
    }

    /// <summary>A grid of images, <paramref name="columns"/> per row, with optional captions (one per image).</summary>
    public static ImageView Grid(IEnumerable<RasterImage> images, IEnumerable<string>? captions = null, int columns = 4, int scale = 3, string? title = null)
    {
        var imgs = images.ToArray();
        var caps = captions?.ToArray();
        if (caps is not null && caps.Length != imgs.Length)
            throw new ArgumentException($"ImageView.Grid: {caps.Length} captions for {imgs.Length} images");
        return new ImageView(imgs.Select((img, i) => (img, caps?[i])).ToArray(), columns, scale, title);
    }

    /// <summary>Images per row.</summary>
    public int Columns { get; }

    /// <summary>Display size multiplier.</summary>
    public int Scale { get; }

    /// <summary>Optional heading above the grid.</summary>
    public string? Title { get; }

    /// <summary>Number of images.</summary>
    public int Count => items.Length;

    /// <inheritdoc/>
    public string ToHtml()
    {
        var sb = new StringBuilder();
        sb.Append("<div class=\"mmeureka-images\">");
        if (Title is not null) sb.Append("<div style=\"font-weight:bold;margin-bottom:4px\">").Append(HtmlText.Escape(Title)).Append("</div>");
        sb.Append($"<div style=\"display:grid;grid-template-columns:repeat({Columns},max-content);gap:8px;align-items:start\">");
        foreach (var (image, caption) in items)
        {
            sb.Append("<figure style=\"margin:0;text-align:center\">");
            sb.Append($"<img src=\"{Png.ToDataUri(image)}\" width=\"{image.Width * Scale}\" height=\"{image.Height * Scale}\" ");
            sb.Append("style=\"image-rendering:pixelated;image-rendering:crisp-edges\" alt=\"").Append(HtmlText.Escape(caption ?? "image")).Append("\">");
            if (caption is not null)
                sb.Append("<figcaption style=\"font-size:12px;max-width:").Append(Math.Max(image.Width * Scale, 96))
                  .Append("px;white-space:pre-wrap\">").Append(HtmlText.Escape(caption)).Append("</figcaption>");
            sb.Append("</figure>");
        }
        sb.Append("</div></div>");
        return sb.ToString();
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"ImageView: {Count} image(s), {items[0].Image.Width}x{items[0].Image.Height}" + (Title is null ? "" : $" '{Title}'");
}
