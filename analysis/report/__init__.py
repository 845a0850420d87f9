"""Layer 4: `actgrad report`. Stages, the seed-claims audit, figures, the HTML/Markdown pages."""
