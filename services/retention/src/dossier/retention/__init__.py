"""dossier.retention — quarterly review (定期审核), destruction (资料销毁) with certificates,
backups (资料备份) to object storage, restore and verification."""
