"""The claim wizard: seven steps over one draft (``flow``), their forms (``forms``), the drafts
and the submission (``drafts``), and the edit of a returned claim built from the same forms
(``edit``)."""
