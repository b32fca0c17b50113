"""The national format (issue #20): members and mobile members in the columns of the national
Party member information system's collection sheet (全国党员管理信息系统 · 党员信息采集表), as far
as they are public and Liudong holds them; an export (`export`) and a reconciliation of an
uploaded sheet against Liudong (`reconcile`), which writes nothing to members.

`columns` lists each column with where its value comes from and whether its name is public
knowledge or our assumption.
"""
