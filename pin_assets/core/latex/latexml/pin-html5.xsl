<?xml version="1.0" encoding="utf-8"?>
<!-- LaTeXML's own HTML5 stylesheet, with one change: every graphic keeps the file LaTeXML resolved for it
     (its `candidates`), in a wrapping <span class="pin_graphic" data-candidates="...">. Graphics are not
     converted by LaTeXML (no ImageMagick); pin_assets/core/latex/figures.py converts them. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:ltx="http://dlmf.nist.gov/LaTeXML"
    exclude-result-prefixes="ltx">
  <xsl:import href="urn:x-LaTeXML:XSLT:LaTeXML-html5.xsl"/>
  <xsl:template match="ltx:graphics">
    <span class="pin_graphic" data-candidates="{@candidates}" data-graphic="{@graphic}">
      <xsl:apply-imports/>
    </span>
  </xsl:template>
</xsl:stylesheet>
